import type { NatsConnection } from '@nats-io/transport-node';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import type { EventStore } from '../../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { ProjectionRunner, type Projection } from '../../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../../src/projections/runner/queries.js';
import { uniquePrefix, useNats } from '../../support/nats.js';
import { useTestDatabase } from '../../support/postgres.js';

export interface RebuildTestEnv {
  url: string;
  pool: pg.Pool;
  db: Kysely<Database>;
  store: EventStore;
}

/** A migrated database with the PostgreSQL event store, for this test file. */
export function useRebuildEnv(label: string): RebuildTestEnv {
  const env = {} as RebuildTestEnv;
  beforeAll(async () => {
    const database = await useTestDatabase(label);
    env.url = database.url;
    env.pool = createPool({ connectionString: database.url, max: 12 });
    await migrateEventStore(env.pool);
    env.db = createKysely<Database>(env.pool);
    await migrateReadModels(env.db);
    env.store = createPostgresEventStore({ pool: env.pool, idlePollMs: 50 });
  });
  afterAll(async () => {
    await env.store?.close();
    await env.db?.destroy();
  });
  return env;
}

export interface LivePipeline {
  readonly runners: readonly ProjectionRunner[];
  caughtUp(): Promise<void>;
}

/** The production read path (relay → JetStream → one ProjectionRunner per projection), stopped after the file. */
export async function startLivePipeline(env: RebuildTestEnv, label: string, projections: readonly Projection[]): Promise<LivePipeline> {
  const prefix = uniquePrefix(label);
  const nats: NatsConnection = await useNats(prefix);
  const pool = createPool({ connectionString: env.url, max: projections.length + 4 });
  const relay = new Relay({ store: env.store, db: env.db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  const runners = projections.map((projection) => new ProjectionRunner({ projection, db: env.db, pool, nats, prefix, store: env.store, logger: silentLogger, standbyRetryMs: 50, batchSize: 50 }));
  relay.start();
  for (const runner of runners) runner.start();
  afterAll(async () => {
    for (const runner of runners) await runner.stop();
    await relay.stop();
    await pool.end();
  });
  return {
    runners,
    async caughtUp() {
      const head = await env.store.headPosition();
      if (head === null) return;
      for (const projection of projections) expect(await waitForProjection(env.db, projection.name, head, 15_000), `${projection.name} reached ${head}`).toBe(true);
    },
  };
}

/** Every row of every table of the projection, as canonical JSON, sorted. */
export async function rowsOf(db: Kysely<Database>, projection: Projection): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of projection.tables) {
    const { rows } = await sql<{ row: string }>`SELECT to_jsonb(t)::text AS row FROM ${sql.table(table)} t`.execute(db);
    out[table] = rows.map((r) => r.row).sort();
  }
  return out;
}

/** Index names and definitions of the projection's tables (names must survive a rebuild). */
export async function indexesOf(db: Kysely<Database>, projection: Projection): Promise<string[]> {
  const { rows } = await sql<{ d: string }>`SELECT indexname || ': ' || indexdef AS d FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(${[...projection.tables]}::text[]) ORDER BY 1`.execute(db);
  return rows.map((r) => r.d);
}

/** Schemas a rebuild made that are still there. */
export async function rebuildSchemas(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ nspname: string }>`SELECT nspname FROM pg_namespace WHERE nspname ~ '^(rebuild|retired)_' ORDER BY 1`.execute(db);
  return rows.map((r) => r.nspname);
}

export async function checkpointOf(db: Kysely<Database>, projection: string): Promise<string | undefined> {
  const row = await db.selectFrom('projection_checkpoints').select('position').where('projection', '=', projection).executeTakeFirst();
  return row?.position;
}
