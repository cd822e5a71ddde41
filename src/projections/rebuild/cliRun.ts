import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { EventStore } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/applyBatch.js';
import { findProjection, RebuildAbortedError, rebuildProjection, UnknownProjectionError, type RebuildProgress, type RebuildResult } from './rebuild.js';
import { parseCommandLine, UsageError } from '../../api/cli/usage.js';

export const USAGE = `Usage: npm run rebuild -- <projection> [options]
       npm run rebuild -- --list

Rebuilds one read model from position 0 of the event store into fresh tables while the current ones keep
serving, then switches to them in one transaction. A running projector (npm start) may keep running.

Options:
  --list             list the projections and the tables each one owns
  --keep-old         keep the replaced tables in schema retired_<projection>_<id> instead of dropping them
  --page-size <n>    events per read and per transaction (default 5000)
  --json             print the summary as JSON
  --help             show this help

Exit codes: 0 rebuilt and switched, 1 failed (nothing changed), 2 bad usage or unknown projection,
130 interrupted (nothing changed).`;

export interface RebuildCliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Draws progress while the rebuild runs (a cli-progress bar in cli.ts when stderr is a terminal). */
export interface RebuildProgressView {
  update(progress: RebuildProgress): void;
  stop(): void;
}

export type RebuildCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'list'; readonly json: boolean }
  | { readonly kind: 'rebuild'; readonly projection: string; readonly keepOld: boolean; readonly pageSize: number | undefined; readonly json: boolean };

/** Parses without touching the database: bad usage needs no connection and changes nothing. */
export function parseRebuildArgs(argv: readonly string[]): RebuildCommand {
  const parsed = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      list: { type: 'boolean', default: false },
      'keep-old': { type: 'boolean', default: false },
      'page-size': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  if (values.help) return { kind: 'help' };
  if (values.list) {
    if (positionals.length > 0) throw new UsageError('--list takes no projection');
    return { kind: 'list', json };
  }
  if (positionals.length === 0) throw new UsageError('which projection? (npm run rebuild -- --list shows them)');
  if (positionals.length > 1) throw new UsageError(`one projection at a time, got ${positionals.join(', ')}`);
  let pageSize: number | undefined;
  if (values['page-size'] !== undefined) {
    pageSize = Number(values['page-size']);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 50_000) throw new UsageError(`--page-size must be an integer from 1 to 50000, got ${JSON.stringify(values['page-size'])}`);
  }
  return { kind: 'rebuild', projection: positionals[0]!, keepOld: values['keep-old'] ?? false, pageSize, json };
}

/**
 * Checks the command against the known projections before anything connects: bad usage and an unknown
 * projection print why (with the known ones) and give exit code 2. Returns the command when it can run.
 */
export function checkRebuildCommand(argv: readonly string[], projections: readonly Projection[], out: RebuildCliOutput): { command: RebuildCommand } | { exitCode: number } {
  try {
    const command = parseRebuildArgs(argv);
    if (command.kind === 'rebuild') findProjection(command.projection, projections);
    return { command };
  } catch (error) {
    if (error instanceof UsageError) {
      out.stderr(`error: ${error.message}\n\n${USAGE}\n`);
      return { exitCode: 2 };
    }
    if (error instanceof UnknownProjectionError) {
      out.stderr(`error: ${error.message}\n`);
      return { exitCode: 2 };
    }
    throw error;
  }
}

/** `help` and `list`: no database needed. Returns null for a rebuild. */
export function runOffline(command: RebuildCommand, projections: readonly Projection[], out: RebuildCliOutput): number | null {
  if (command.kind === 'help') {
    out.stdout(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === 'list') {
    const rows = projections.map((p) => ({ name: p.name, tables: p.tables }));
    if (command.json) out.stdout(`${JSON.stringify({ projections: rows }, null, 2)}\n`);
    else {
      const width = Math.max(...rows.map((r) => r.name.length));
      out.stdout(rows.map((r) => `${r.name.padEnd(width)}  ${r.tables.join(', ')}`).join('\n') + '\n');
    }
    return 0;
  }
  return null;
}

export interface RebuildCliDeps {
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly logger: Logger;
  readonly out: RebuildCliOutput;
  readonly progress?: RebuildProgressView;
  readonly signal?: AbortSignal;
}

/** The rebuild CLI without a process: returns the exit code. */
export async function runRebuildCli(argv: readonly string[], deps: RebuildCliDeps): Promise<number> {
  const checked = checkRebuildCommand(argv, deps.projections, deps.out);
  if ('exitCode' in checked) return checked.exitCode;
  const { command } = checked;
  const offline = runOffline(command, deps.projections, deps.out);
  if (offline !== null || command.kind !== 'rebuild') return offline ?? 0;
  const projection = findProjection(command.projection, deps.projections);
  let result: RebuildResult;
  try {
    result = await rebuildProjection({
      db: deps.db,
      pool: deps.pool,
      store: deps.store,
      projection,
      logger: deps.logger,
      keepOld: command.keepOld,
      ...(command.pageSize === undefined ? {} : { pageSize: command.pageSize }),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      onProgress: (p) => deps.progress?.update(p),
    });
  } catch (error) {
    deps.progress?.stop();
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof RebuildAbortedError) {
      deps.out.stderr(`${message}\n`);
      return 130;
    }
    deps.logger.error({ err: error, projection: projection.name }, 'rebuild failed');
    deps.out.stderr(`error: rebuild of ${projection.name} failed, nothing was changed: ${message}\n`);
    return 1;
  }
  deps.progress?.stop();
  deps.out.stdout(command.json ? `${JSON.stringify({ ...result, position: result.position?.toString() ?? null }, null, 2)}\n` : `${summaryLine(result)}\n`);
  return 0;
}

export function summaryLine(r: RebuildResult): string {
  const n = (value: number) => Math.round(value).toLocaleString('en-US');
  const old = r.retiredSchema === null ? 'old tables dropped' : `old tables kept in schema ${r.retiredSchema}`;
  return (
    `rebuilt ${r.projection}: ${n(r.events)} events in ${r.seconds.toFixed(1)} s (${n(r.eventsPerSecond)} events/s), ` +
    `switched at position ${r.position?.toString() ?? '0'}; ${n(r.parked)} parked; ${old}`
  );
}
