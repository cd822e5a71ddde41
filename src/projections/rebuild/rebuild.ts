import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import { Leadership } from '../../infra/leadership.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/applyBatch.js';
import { applyPageWithin, guardTables, switchTables, type SwitchResult } from './switch.js';
import { createCopies, createDeferredIndexes, inspectLiveTables } from './tables.js';

/**
 * Rebuilding one read model without downtime (README, "Rebuilding a read model"):
 * 1. fresh, empty copies of the projection's tables (`Projection.tables`) in a new schema `rebuild_<name>_<id>`;
 * 2. the store's global log from position 0, read through the EventStore port (`readAll`, never NATS, so an
 *    upcasting or decrypting store wrapper applies) in large pages, each applied by the runner's own batch code
 *    in one transaction, with only the new schema on the search_path;
 * 3. the plain indexes, built once, and ANALYZE; a catch-up to the head;
 * 4. the switch (switch.ts): one transaction that holds off the live runner, applies the last tail, puts the
 *    copies in place of the live tables and moves the projection's checkpoint to the rebuilt position.
 * Until the switch commits, the live tables serve and the live runner keeps them current; a failure or an abort
 * drops the new schema and leaves everything as it was. One rebuild per projection at a time (advisory lock).
 */

export interface RebuildProgress {
  readonly phase: 'copying' | 'indexing' | 'catching-up' | 'switching' | 'done';
  /** Events read from the store so far (all types; the projection applies those it reads). */
  readonly events: number;
  readonly position: bigint | null;
  /** The store's head when the rebuild started: with `position`, an estimate of how far along it is. */
  readonly head: bigint | null;
  readonly elapsedMs: number;
}

export interface RebuildOptions {
  readonly db: Kysely<Database>;
  /** For the rebuild's advisory lock (one dedicated connection while it runs). */
  readonly pool: pg.Pool;
  readonly store: EventStore;
  readonly projection: Projection;
  readonly logger: Logger;
  /** Keep the replaced tables in schema `retired_<name>_<id>` instead of dropping them. */
  readonly keepOld?: boolean;
  /** Events per read and per transaction (default 5,000). */
  readonly pageSize?: number;
  /** How long the switch waits for a lock (a long batch, a long query) before it rolls back and retries. */
  readonly lockTimeoutMs?: number;
  readonly switchAttempts?: number;
  /** Awaited after every page and at each phase; a throw aborts the rebuild like any failure. */
  readonly onProgress?: (progress: RebuildProgress) => void | Promise<void>;
  /** Aborts between pages (Ctrl-C): nothing switched, the new schema dropped. */
  readonly signal?: AbortSignal;
}

export interface RebuildResult {
  readonly projection: string;
  readonly events: number;
  /** The checkpoint the projection continues from. */
  readonly position: bigint | null;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Events the rebuilt projection parked (poison events), now the projection's parked list. */
  readonly parked: number;
  readonly switchAttempts: number;
  /** Where the replaced tables are, with `keepOld`; null when they were dropped. */
  readonly retiredSchema: string | null;
}

export class UnknownProjectionError extends Error {
  override readonly name = 'UnknownProjectionError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`unknown projection "${requested}"; known projections: ${known.join(', ')}`);
  }
}

export class RebuildBusyError extends Error {
  override readonly name = 'RebuildBusyError';
}

export class RebuildAbortedError extends Error {
  override readonly name = 'RebuildAbortedError';
}

export function findProjection(name: string, projections: readonly Projection[]): Projection {
  const projection = projections.find((p) => p.name === name);
  if (projection === undefined) throw new UnknownProjectionError(name, projections.map((p) => p.name));
  return projection;
}

const DEFAULT_PAGE_SIZE = 5_000;

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { db, store, projection } = options;
  const log = options.logger.child({ component: 'rebuild', projection: projection.name });
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const started = performance.now();
  const lock = new Leadership(options.pool, `projection-rebuild:${projection.name}`);
  if (!(await lock.tryAcquire())) throw new RebuildBusyError(`a rebuild of ${projection.name} is already running`);
  const safeName = projection.name.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  const suffix = Date.now().toString(36);
  const rebuild = `rebuild_${safeName}_${suffix}`;
  const retired = `retired_${safeName}_${suffix}`;
  let created = false;
  let switched = false;
  try {
    const live = (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]!.schema;
    const tables = await inspectLiveTables(db, live, projection.tables);
    await dropLeftovers(db, safeName, log);
    const head = await store.headPosition();
    log.info({ schema: rebuild, tables: projection.tables, head: String(head) }, 'rebuild started');
    created = true;
    await createCopies(db, live, rebuild, tables);

    const state = { events: 0, position: null as bigint | null };
    const context = { ...guardTables(projection), store, log, rebuild };
    const report = (phase: RebuildProgress['phase']) => options.onProgress?.({ phase, events: state.events, position: state.position, head, elapsedMs: performance.now() - started });
    const catchUp = async (phase: RebuildProgress['phase']) => {
      await report(phase);
      await copyUntilCaughtUp({ db, store, context, pageSize, signal: options.signal, state, onPage: () => report(phase) });
    };

    await catchUp('copying');
    await report('indexing');
    await createDeferredIndexes(db, rebuild, tables);
    await catchUp('catching-up');

    const attempts = options.switchAttempts ?? 5;
    let switchResult: SwitchResult | undefined;
    let attempt = 0;
    while (switchResult === undefined) {
      attempt++;
      options.signal?.throwIfAborted();
      await report('switching');
      try {
        switchResult = await switchTables({ ...context, db, live, retired, keepOld: options.keepOld ?? false, tables, position: state.position, pageSize, lockTimeoutMs: options.lockTimeoutMs ?? 5_000 });
      } catch (error) {
        if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt >= attempts) throw error;
        log.warn({ attempt, attempts }, 'switch timed out waiting for a lock (a long batch or query); catching up and trying again');
        await catchUp('catching-up');
      }
    }
    switched = true;
    state.events += switchResult.tail;
    state.position = switchResult.position;
    await report('done');
    const seconds = (performance.now() - started) / 1_000;
    const result: RebuildResult = {
      projection: projection.name,
      events: state.events,
      position: state.position,
      seconds,
      eventsPerSecond: seconds > 0 ? Math.round(state.events / seconds) : state.events,
      parked: switchResult.parked,
      switchAttempts: attempt,
      retiredSchema: options.keepOld === true ? retired : null,
    };
    log.info({ ...result, position: String(result.position) }, 'rebuild switched in');
    return result;
  } catch (error) {
    if (created && !switched) await dropSchema(db, rebuild, log);
    if (options.signal?.aborted === true && !switched) throw new RebuildAbortedError(`rebuild of ${projection.name} interrupted; nothing was changed`, { cause: error });
    throw error;
  } finally {
    await lock.release();
  }
}

const LOCK_NOT_AVAILABLE = '55P03';

interface CopyRun {
  readonly db: Kysely<Database>;
  readonly store: EventStore;
  readonly context: Parameters<typeof applyPageWithin>[1];
  readonly pageSize: number;
  readonly signal: AbortSignal | undefined;
  readonly state: { events: number; position: bigint | null };
  readonly onPage: () => unknown;
}

/** Pages until one comes back short (the head, as of that read). The next page is read while one is applied. */
async function copyUntilCaughtUp(run: CopyRun): Promise<void> {
  const read = (after: bigint | null) => run.store.readAll({ after, maxCount: run.pageSize });
  let next: Promise<readonly RecordedEvent[]> | null = read(run.state.position);
  try {
    while (next !== null) {
      run.signal?.throwIfAborted();
      const page: readonly RecordedEvent[] = await next;
      next = null;
      if (page.length === 0) return;
      const previous = run.state.position;
      const last = page[page.length - 1]!.position;
      if (page.length === run.pageSize) next = read(last);
      await run.db.transaction().execute((trx) => applyPageWithin(trx, run.context, page, previous));
      run.state.position = last;
      run.state.events += page.length;
      await run.onPage();
    }
  } finally {
    // A prefetched page nobody will read: do not let its failure go unhandled.
    next?.catch(() => {});
  }
}

async function dropSchema(db: Kysely<Database>, schema: string, log: Logger): Promise<void> {
  try {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db);
  } catch (error) {
    log.error({ err: error, schema }, 'could not drop the half-built rebuild schema; the next rebuild of this projection drops it');
  }
}

/** Schemas of this projection's earlier rebuilds that died without cleaning up (we hold the rebuild lock). */
async function dropLeftovers(db: Kysely<Database>, safeName: string, log: Logger): Promise<void> {
  const { rows } = await sql<{ nspname: string }>`SELECT nspname FROM pg_namespace WHERE nspname ~ ${`^rebuild_${safeName}_[0-9a-z]+$`}`.execute(db);
  for (const { nspname } of rows) {
    log.warn({ schema: nspname }, 'dropping the schema of an earlier, interrupted rebuild');
    await sql`DROP SCHEMA ${sql.id(nspname)} CASCADE`.execute(db);
  }
}
