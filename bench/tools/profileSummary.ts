/**
 * `node --import tsx bench/tools/profileSummary.ts <file.cpuprofile> [top]`
 *
 * Summarizes a V8 CPU profile (from `node --cpu-prof`; open the same file in speedscope or Chrome DevTools for
 * the flame graph): self time by function and by package/file, idle and GC shares.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Where a frame comes from: a package name, a repo folder, or node's internals. */
export function ownerOf(url: string): string {
  if (url === '') return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const repo = /\/(src|bench|test)\/(.*)$/.exec(url);
  if (repo !== null) return `${repo[1]}/${repo[2]}`;
  return url;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byFunction: readonly { readonly name: string; readonly ms: number; readonly share: number }[];
  readonly byOwner: readonly { readonly name: string; readonly ms: number; readonly share: number }[];
  /** Self time of each function plus everything it calls, for frames in this repo's src/. */
  readonly inclusiveSrc: readonly { readonly name: string; readonly ms: number; readonly share: number }[];
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1_000);
  }
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
  const label = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${ownerOf(f.url)}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;
  const fn = new Map<string, number>();
  const owner = new Map<string, number>();
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    fn.set(label(frame), (fn.get(label(frame)) ?? 0) + ms);
    const o = frame.functionName.startsWith('(') ? frame.functionName : ownerOf(frame.url);
    owner.set(o, (owner.get(o) ?? 0) + ms);
  }
  // Inclusive time of src/ frames: each sample counted once per distinct src frame on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      if (!/\/src\//.test(frame.url)) continue;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  }
  const ranked = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((ms / totalMs) * 1_000) / 10 }));
  return { totalMs: Math.round(totalMs), byFunction: ranked(fn), byOwner: ranked(owner), inclusiveSrc: ranked(inclusive) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: profileSummary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const summary = summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, Number(process.argv[3] ?? 25));
  const print = (title: string, rows: ProfileSummary['byOwner']) => {
    process.stdout.write(`\n${title}\n`);
    for (const r of rows) process.stdout.write(`${String(r.share).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}\n`);
  };
  process.stdout.write(`total ${summary.totalMs} ms sampled\n`);
  print('self time by package / file', summary.byOwner);
  print('self time by function', summary.byFunction);
  print('inclusive time of src/ functions', summary.inclusiveSrc);
}
