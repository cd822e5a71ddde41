import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import type { PlannedEvent } from './payloads.js';

/**
 * The peer: Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql) on the same PostgreSQL server, in
 * its own database, on its own pool of the same size as ours, appending the very same planned events with
 * exact expected versions (Emmett counts a stream's version as its number of events).
 */
export interface EmmettPeer {
  readonly store: PostgresEventStore;
  append(planned: readonly PlannedEvent[]): Promise<number>;
  /** Empties its tables between workloads, as ours is truncated. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function openEmmett(url: string, poolMax: number): Promise<EmmettPeer> {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, application_name: 'bench-emmett' });
  // connectionOptions' pooled variant takes the pool; its types name dumbo's pg re-export.
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } as never });
  // The first append creates Emmett's schema (autoMigration): done before any clock starts.
  await store.appendToStream(`warmup-${Date.now()}`, [{ type: 'WarmUp', data: {} }], { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
  return {
    store,
    async append(planned) {
      const first = planned[0]!;
      const expectedStreamVersion = first.revision === 0 ? STREAM_DOES_NOT_EXIST : BigInt(first.revision);
      // Emmett's Event wants a record for data; ours is `unknown` (validated JSON either way).
      const events = planned.map((p) => ({ type: p.event.type, data: p.event.data as Record<string, unknown>, metadata: { ...p.event.metadata } }));
      await store.appendToStream(first.streamId, events, { expectedStreamVersion });
      return planned.length;
    },
    async reset() {
      const { rows } = await pool.query<{ name: string }>(`SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename LIKE 'emt_%'`);
      if (rows.length > 0) await pool.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')}`);
    },
    async close() {
      await store.close();
      await pool.end().catch(() => {});
    },
  };
}
