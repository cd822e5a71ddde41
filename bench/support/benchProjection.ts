import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import type { Database } from '../../src/projections/db/schema.js';
import type { Projection } from '../../src/projections/runner/projectionRunner.js';

/**
 * A projection that writes one row per event (position, stream, type, data), through the real ProjectionRunner
 * (durable JetStream consumer, batch + checkpoint in one transaction, gap checks, ack). The raw baseline writes
 * exactly the same rows (benchmark `projection`), so the difference is the runner's own cost.
 */
export function benchProjection(name: string): Projection {
  const table = tableOf(name);
  const insert = (trx: Kysely<Database>, events: readonly RecordedEvent[]) =>
    sql`INSERT INTO ${sql.table(table)} (position, stream_id, type, data) ${rowsOf(events)} ON CONFLICT (position) DO NOTHING`.execute(trx);
  return {
    name,
    tables: [table],
    apply: async (trx, event) => void (await insert(trx, [event])),
    applyMany: async (trx, events) => void (await insert(trx, events)),
  };
}

/** The rows of `events` as one SELECT over arrays (the data as one JSON array, unnested server-side). */
export function rowsOf(events: readonly Pick<RecordedEvent, 'position' | 'streamId' | 'type' | 'data'>[]) {
  return sql`SELECT * FROM ROWS FROM (unnest(${events.map((e) => e.position.toString())}::bigint[]), unnest(${events.map((e) => e.streamId)}::text[]),
                                      unnest(${events.map((e) => e.type)}::text[]), jsonb_array_elements(${JSON.stringify(events.map((e) => e.data))}::jsonb))`;
}

export function tableOf(projection: string): string {
  return `${projection.replace(/[^a-z0-9_]/gi, '_')}_rows`;
}

export async function createRowsTable(pool: pg.Pool, table: string): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (position bigint PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL, data jsonb NOT NULL)`);
}
