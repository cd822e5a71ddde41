import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { withGroupCommit } from '../../src/eventstore/groupCommit.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { eventStreamName } from '../../src/infra/jetstream.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ProjectionRunner, type Projection } from '../../src/projections/runner/projectionRunner.js';
import type { BenchContext } from './types.js';

/** The write → read path of one projection in a fresh database: store, relay, JetStream, runner. */
export interface BenchPipeline {
  readonly pool: pg.Pool;
  readonly db: Kysely<Database>;
  readonly store: EventStore;
  readonly nats: NatsConnection;
  readonly runner: ProjectionRunner;
  /** Stops the runner and relay, deletes the JetStream stream, closes the connections. */
  close(): Promise<void>;
}

export interface BenchPipelineOptions {
  /** Label of the fresh database. */
  readonly database: string;
  readonly projection: Projection;
  readonly poolMax: number;
  readonly relayCheckpointEveryMs: number;
  /** Default true, as openEventStore composes the store; false measures the store without it. */
  readonly groupCommit?: boolean;
  /** Called by the relay after each publish (bench/tools/commandPath.ts times that stage). */
  readonly afterPublish?: (event: RecordedEvent) => void;
}

export async function startBenchPipeline(context: BenchContext, options: BenchPipelineOptions): Promise<BenchPipeline> {
  const database = await context.createDatabase(options.database);
  const pool = createPool({ connectionString: database.url, max: options.poolMax });
  const db = createKysely<Database>(pool);
  const nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  // Group commit as openEventStore composes it (personal-data sealing is left out, as before).
  const postgres = createPostgresEventStore({ pool, idlePollMs: 100 });
  const store = options.groupCommit === false ? postgres : withGroupCommit(postgres);
  const relay = new Relay({ store, db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: options.relayCheckpointEveryMs, afterPublish: options.afterPublish });
  const runner = new ProjectionRunner({ projection: options.projection, db, pool, nats, prefix, store, logger: silentLogger });
  const close = async () => {
    await runner.stop();
    await relay.stop();
    await jetstreamManager(nats)
      .then((jsm) => jsm.streams.delete(eventStreamName(prefix)))
      .catch(() => {});
    await nats.close();
    await store.close();
    await db.destroy();
  };
  try {
    await migrateEventStore(pool);
    await migrateReadModels(db);
  } catch (error) {
    await close();
    throw error;
  }
  relay.start();
  runner.start();
  return { pool, db, store, nats, runner, close };
}
