/**
 * Helpers of the applyMany equality tests (a projection's set-based applyMany against its event-by-event apply,
 * e.g. test/projections/contacts/applyMany.test.ts): the runner's own batch path, the projection's rows, and a
 * projection whose applyMany calls are counted.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll } from 'vitest';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { applyBatch, type BatchResult, type Projection } from '../../src/projections/runner/applyBatch.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/**
 * Fresh migrated read databases, each a target to project into; dropped after the file. `statements()` counts the
 * queries sent to that database since it was migrated.
 */
export function freshReadDatabases(label: string): () => Promise<{ db: Kysely<Database>; statements: () => number }> {
  const made: { database: TestDatabase; db: Kysely<Database> }[] = [];
  afterAll(async () => {
    for (const { database, db } of made) {
      await db.destroy();
      await database.drop();
    }
  });
  return async () => {
    const database = await createTestDatabase(label);
    let statements = 0;
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool({ connectionString: database.url, max: 2 }) }), log: () => void (statements += 1) });
    made.push({ database, db });
    await migrateReadModels(db);
    statements = 0;
    return { db, statements: () => statements };
  };
}

/** The runner's path: applyBatch per `size` events, each with its predecessor's position. */
export async function projectInBatches(db: Kysely<Database>, store: EventStore, projection: Projection, size: number, events: readonly RecordedEvent[]): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (let start = 0; start < events.length; start += size) {
    const published = events.slice(start, start + size).map((event, i) => ({ event, previous: start + i === 0 ? null : events[start + i - 1]!.position }));
    results.push(await applyBatch({ projection, db, store, log: silentLogger }, published));
  }
  return results;
}

/** Every row of the projection's tables and of its parked events, as canonical JSON, sorted. */
export async function projectionRows(db: Kysely<Database>, projection: Projection): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of projection.tables) {
    const { rows } = await sql<{ row: string }>`SELECT to_jsonb(t)::text AS row FROM ${sql.table(table)} t`.execute(db);
    out[table] = rows.map((r) => r.row).sort();
  }
  const parked = await db.selectFrom('projection_parked_events').select(['event_id', 'event_type', 'error']).where('projection', '=', projection.name).execute();
  out.parked = parked.map((p) => JSON.stringify(p)).sort();
  return out;
}

/** The projection with its applyMany counted: how many batches it applied, how many it refused. */
export function countingApplyMany(of: Projection): { projection: Projection; applied: number; refused: number } {
  const applyMany = of.applyMany;
  if (applyMany === undefined) throw new Error(`${of.name} has no applyMany`);
  const counts = { applied: 0, refused: 0 };
  const projection: Projection = {
    ...of,
    async applyMany(trx, batch) {
      try {
        await applyMany(trx, batch);
        counts.applied += 1;
      } catch (error) {
        counts.refused += 1;
        throw error;
      }
    },
  };
  return Object.assign(counts, { projection });
}
