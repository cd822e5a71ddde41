import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { ExportInputError, parseBound, prepareExport, type ExportDeps, type ExportProgress, type ExportRequest } from './export.js';
import { parseCommandLine, UsageError } from '../api/cli/usage.js';

export const USAGE = `Usage: npm run replay -- (--stream <streamId> | --workspace <id>) [options]

Writes events as NDJSON (one JSON envelope per line: id, type, streamId, revision, position, recordedAt, data,
metadata { correlationId, causationId, commandId, actor, workspaceId, schemaVersion }), oldest first.

Options:
  --stream <id>       one stream, e.g. campaign-<uuid>, contact-<uuid>, email-<campaign>_<contact>
  --workspace <id>    every event of the workspace (a scan of the global log up to its head at the start)
  --from <bound>      inclusive start: a global position (digits) or an instant (2026-11-24T09:00:00Z, or 2026-11-24)
  --until <bound>     inclusive end, same forms
  --out <file>        write to this file (written to <file>.partial and renamed when complete); default stdout
  --progress          show a progress bar on stderr even when it is not a terminal
  --help              show this help

Exit codes: 0 exported; 1 failed (e.g. the event store is unreachable); 2 bad input (usage, unknown stream or
workspace, a range that ends before it starts): nothing is written.`;

export interface ReplayCommand {
  readonly kind: 'export';
  readonly request: ExportRequest;
  readonly out: string | null;
  readonly progress: boolean;
}

/** Parses the command line without touching the store. */
export function parseReplayArgs(argv: readonly string[]): ReplayCommand | { readonly kind: 'help' } {
  const { values } = parseCommandLine({
    args: [...argv],
    strict: true,
    options: {
      stream: { type: 'string' },
      workspace: { type: 'string' },
      from: { type: 'string' },
      until: { type: 'string' },
      out: { type: 'string' },
      progress: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { kind: 'help' };
  const stream = values.stream?.trim();
  const workspace = values.workspace?.trim();
  if ((stream === undefined || stream === '') === (workspace === undefined || workspace === '')) throw new UsageError('give exactly one of --stream and --workspace');
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out needs a file name');
  try {
    const request: ExportRequest = {
      target: stream ? { kind: 'stream', streamId: stream } : { kind: 'workspace', workspaceId: workspace! },
      ...(values.from === undefined ? {} : { from: parseBound(values.from, '--from') }),
      ...(values.until === undefined ? {} : { until: parseBound(values.until, '--until') }),
    };
    return { kind: 'export', request, out: values.out ?? null, progress: values.progress ?? false };
  } catch (error) {
    if (error instanceof ExportInputError) throw new UsageError(error.message);
    throw error;
  }
}

export interface ReplayCliDeps extends ExportDeps {
  readonly stdout: Writable;
  readonly stderr: (text: string) => void;
  /** The progress bar (cli.ts: cli-progress on stderr), used when stderr is a terminal or --progress is given. */
  readonly progress?: (forced: boolean) => ExportProgress | undefined;
}

/** Writes to a stream, waiting when its buffer is full. */
const writerOf = (target: Writable) => async (line: string) => {
  if (!target.write(line)) await once(target, 'drain');
};

/** The replay CLI without a process: returns the exit code. Unexpected errors (store down) are thrown. */
export async function runReplayCli(argv: readonly string[], deps: ReplayCliDeps): Promise<number> {
  let command;
  try {
    command = parseReplayArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    deps.stderr(`error: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    deps.stderr(`${USAGE}\n`);
    return 0;
  }
  let prepared;
  try {
    prepared = await prepareExport(deps, command.request);
  } catch (error) {
    if (!(error instanceof ExportInputError)) throw error;
    deps.stderr(`error: ${error.message}\n`);
    return 2;
  }
  const progress = deps.progress?.(command.progress);
  if (command.out === null) {
    const { exported } = await prepared.run(writerOf(deps.stdout), progress);
    deps.stderr(`exported ${exported} events\n`);
    return 0;
  }
  const partial = `${command.out}.partial`;
  const file = createWriteStream(partial, { flags: 'w' });
  try {
    const { exported } = await prepared.run(writerOf(file), progress);
    file.end();
    await once(file, 'finish');
    await rename(partial, command.out);
    deps.stderr(`exported ${exported} events to ${command.out}\n`);
    return 0;
  } catch (error) {
    file.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}
