/**
 * "The read models equal a fresh rebuild": replays the store's whole global log through every projection
 * (applyBatch, the runner's own transaction + checkpoint code) into a fresh, migrated database, then compares the
 * rows of every table the rebuild filled with the live database's, ignoring clock columns. Used by the fault
 * tests after each fault, once the live projections have caught up with the store's head.
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { PROJECTIONS } from '../../src/projections/index.js';
import { applyBatch } from '../../src/projections/runner/applyBatch.js';
import type { Projection, PublishedEvent } from '../../src/projections/runner/projectionRunner.js';
import { createTestDatabase } from './postgres.js';

/** Written by the pipeline's machinery or by commands, not by projections from events: not compared. */
const NOT_PROJECTED = new Set([
  'projection_checkpoints',
  'projection_parked_events',
  'relay_checkpoints',
  'workspaces',
  'api_keys',
  'delivery_ledger',
  'unmatched_bounces',
  'import_jobs',
  'import_row_errors',
  // The key store of crypto-shredding (src/privacy/): not derived from events, never rebuilt.
  'contact_keys',
]);

/** Columns set from the wall clock when a row is written (not from an event): they differ in a rebuild. */
const CLOCK_COLUMNS = ['updated_at', 'parked_at'];

export interface RebuildComparison {
  readonly events: number;
  /** Tables the rebuild filled, with their row counts (every table not in NOT_PROJECTED is compared). */
  readonly tables: Readonly<Record<string, number>>;
  /** Per table, the first differing rows (empty when the read models equal the rebuild). */
  readonly differences: readonly { table: string; onlyLive: string[]; onlyRebuilt: string[] }[];
}

/** Every event of the store, in global order. */
export async function readWholeLog(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let after: bigint | null = null;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 1_000 });
    out.push(...page);
    if (page.length < 1_000) return out;
    after = page[page.length - 1]!.position;
  }
}

/**
 * Rebuilds every projection from position 0 into a fresh database and compares it with `live`. The caller
 * waits for the live projections to reach the store's head first. The fresh database is dropped afterwards.
 */
export async function compareWithFreshRebuild(store: EventStore, live: Kysely<Database>, projections: readonly Projection[] = PROJECTIONS): Promise<RebuildComparison> {
  const events = await readWholeLog(store);
  const fresh = await createTestDatabase('rebuild');
  const pool = new pg.Pool({ connectionString: fresh.url, max: 2 });
  const rebuilt = createKysely<Database>(pool);
  try {
    await migrateReadModels(rebuilt);
    const readModelTables = await tableNames(rebuilt);
    // The live database's workspaces: some projections join them (foreign keys); they are not events.
    const workspaces = await live.selectFrom('workspaces').selectAll().execute();
    if (workspaces.length > 0) await rebuilt.insertInto('workspaces').values(workspaces).execute();
    for (const projection of projections) {
      for (let start = 0; start < events.length; start += 500) {
        const published: PublishedEvent[] = events.slice(start, start + 500).map((event, i) => ({ event, previous: start + i === 0 ? null : events[start + i - 1]!.position }));
        await applyBatch({ projection, db: rebuilt, store, log: silentLogger }, published);
      }
    }
    const tables = await filledTables(rebuilt);
    const differences: RebuildComparison['differences'][number][] = [];
    // The read-model tables either side filled: a live table the rebuild leaves empty is a difference too.
    const liveFilled = Object.keys(await filledTables(live, readModelTables));
    for (const table of new Set([...Object.keys(tables), ...liveFilled])) {
      const [liveRows, rebuiltRows] = await Promise.all([rowsOf(live, table), rowsOf(rebuilt, table)]);
      const onlyLive = multisetMinus(liveRows, rebuiltRows);
      const onlyRebuilt = multisetMinus(rebuiltRows, liveRows);
      if (onlyLive.length > 0 || onlyRebuilt.length > 0) differences.push({ table, onlyLive: onlyLive.slice(0, 3), onlyRebuilt: onlyRebuilt.slice(0, 3) });
    }
    return { events: events.length, tables, differences };
  } finally {
    await rebuilt.destroy();
    await fresh.drop();
  }
}

/** The projected tables of a database (its read-model migrations' tables, less NOT_PROJECTED). */
async function tableNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db);
  return rows.map((r) => r.table_name).filter((t) => !NOT_PROJECTED.has(t) && !/^kysely_|_migrations(_lock)?$/.test(t));
}

async function filledTables(db: Kysely<Database>, names?: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of names ?? (await tableNames(db))) {
    const { rows: count } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db);
    const n = Number(count[0]!.n);
    if (n > 0) out[table] = n;
  }
  return out;
}

/** Every row as canonical JSON (jsonb text), clock columns removed, sorted. */
async function rowsOf(db: Kysely<Database>, table: string): Promise<string[]> {
  const { rows } = await sql<{ row: string }>`SELECT (to_jsonb(t) - ${sql.val(CLOCK_COLUMNS)}::text[])::text AS row FROM ${sql.table(table)} t`.execute(db);
  return rows.map((r) => r.row).sort();
}

function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const row of b) counts.set(row, (counts.get(row) ?? 0) + 1);
  const out: string[] = [];
  for (const row of a) {
    const n = counts.get(row) ?? 0;
    if (n > 0) counts.set(row, n - 1);
    else out.push(row);
  }
  return out;
}
