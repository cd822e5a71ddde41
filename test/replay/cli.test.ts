/**
 * The replay export (npm run replay): a stream or a workspace's log as NDJSON, bounded by times or positions;
 * bad input exits 2 with a message on stderr and writes nothing. In process (runReplayCli) and once as a real
 * process against the test database.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromWire, type WireEvent } from '../../src/eventstore/envelope.js';
import { runReplayCli } from '../../src/replay/cliRun.js';
import type { ExportProgress } from '../../src/replay/export.js';
import { useApiTestEnv, type ApiTestEnv } from '../api/support.js';
import { campaignStream } from './fixtures.js';

let env: ApiTestEnv;
let dir: string;
const ws = `ws-${randomUUID().slice(0, 8)}`;
const otherWs = `ws-${randomUUID().slice(0, 8)}`;
let campaignId: string;
let otherCampaign: string;

beforeAll(async () => {
  env = await useApiTestEnv('replay_cli');
  dir = await mkdtemp(join(tmpdir(), 'replay-'));
  campaignId = await campaignStream(env.eventStore, ws, 11, { batch: 4 });
  otherCampaign = await campaignStream(env.eventStore, otherWs, 2);
  await campaignStream(env.eventStore, ws, 1);
});

async function run(argv: string[], progress?: ExportProgress) {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  let stderr = '';
  const code = await runReplayCli(argv, {
    store: env.eventStore,
    workspaceExists: async (id) => id === ws || id === otherWs,
    stdout,
    stderr: (text) => void (stderr += text),
    pageSize: 5,
    ...(progress === undefined ? {} : { progress: () => progress }),
  });
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '');
  return { code, stderr, events: lines.map((l) => fromWire(JSON.parse(l) as WireEvent)) };
}

describe('npm run replay', () => {
  it('exports a stream, oldest first, in the wire envelope, bounded by positions or times (inclusive)', async () => {
    const all = await run(['--stream', `campaign-${campaignId}`]);
    expect(all.code).toBe(0);
    expect(all.events.map((e) => e.revision)).toEqual([...Array(12).keys()]);
    expect(all.events[0]).toMatchObject({ type: 'CampaignCreated', streamId: `campaign-${campaignId}`, metadata: { workspaceId: ws, actor: 'test' } });
    expect(all.stderr).toContain('exported 12 events');

    const byPosition = await run(['--stream', `campaign-${campaignId}`, '--from', String(all.events[3]!.position), '--until', String(all.events[6]!.position)]);
    expect(byPosition.events.map((e) => e.revision)).toEqual([3, 4, 5, 6]);

    // Appends of 4 events share one recordedAt: revisions 4-7 are the second append.
    const byTime = await run(['--stream', `campaign-${campaignId}`, '--from', all.events[4]!.recordedAt.toISOString(), '--until', all.events[7]!.recordedAt.toISOString()]);
    expect(byTime.events.map((e) => e.revision)).toEqual([4, 5, 6, 7]);
  });

  it("exports a workspace's events only, with progress", async () => {
    const updates: [number, number][] = [];
    const progress: ExportProgress = { start: () => {}, update: (done, exported) => void updates.push([done, exported]), stop: () => {} };
    const result = await run(['--workspace', ws], progress);
    expect(result.code).toBe(0);
    expect(result.events).toHaveLength(12 + 2);
    expect(new Set(result.events.map((e) => e.metadata.workspaceId))).toEqual(new Set([ws]));
    expect(result.events.some((e) => e.streamId === `campaign-${otherCampaign}`)).toBe(false);
    const positions = result.events.map((e) => e.position);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(updates.length).toBeGreaterThan(1);
    const from = await run(['--workspace', ws, '--from', String(positions[5]), '--until', String(positions[7])]);
    expect(from.events.map((e) => e.position)).toEqual(positions.slice(5, 8));
  });

  it('writes a file only when complete; bad input exits 2 with a message and writes nothing', async () => {
    const out = join(dir, 'campaign.ndjson');
    expect((await run(['--stream', `campaign-${campaignId}`, '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(12);
    expect(existsSync(`${out}.partial`)).toBe(false);

    const cases: [string[], string][] = [
      [['--stream', `campaign-${randomUUID()}`, '--out', join(dir, 'a.ndjson')], 'There is no stream'],
      [['--workspace', 'ws-unknown', '--out', join(dir, 'b.ndjson')], 'There is no workspace ws-unknown'],
      [['--stream', `campaign-${campaignId}`, '--from', '2026-11-24T12:00:00Z', '--until', '2026-11-24T11:00:00Z', '--out', join(dir, 'c.ndjson')], 'before it starts'],
      [['--stream', `campaign-${campaignId}`, '--from', '9', '--until', '3', '--out', join(dir, 'd.ndjson')], 'before it starts'],
      [['--stream', `campaign-${campaignId}`, '--until', 'yesterday', '--out', join(dir, 'e.ndjson')], '--until must be'],
      [['--stream', 'x', '--workspace', ws], 'exactly one of --stream and --workspace'],
      [[], 'exactly one of --stream and --workspace'],
      [['--stream', 'x', '--bogus'], "Unknown option '--bogus'"],
    ];
    for (const [argv, message] of cases) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.events).toEqual([]);
    }
    for (const file of ['a', 'b', 'c', 'd', 'e']) {
      expect(existsSync(join(dir, `${file}.ndjson`))).toBe(false);
      expect(existsSync(join(dir, `${file}.ndjson.partial`))).toBe(false);
    }
  });

  it('runs as a process: npm run replay writes NDJSON to stdout, and exits 2 for an unknown stream', async () => {
    const execute = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/replay/cli.ts', ...args], { env: { ...process.env, DATABASE_URL: env.url, LOG_LEVEL: 'silent' } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const ok = await execute(['--stream', `campaign-${otherCampaign}`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n').map((l) => (JSON.parse(l) as WireEvent).revision)).toEqual([0, 1, 2]);
    const missing = await execute(['--stream', 'campaign-nope']);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain('There is no stream campaign-nope');
  });
});
