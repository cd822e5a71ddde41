/**
 * Every role in this process, composed from the same building blocks as src/api/main.ts: database (embedded by
 * default), NATS, migrations, event store, relay, projection runners, scheduler, launch saga, API.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { buildServer } from '../../api/server.js';
import { NatsCommandServer } from '../../api/commands/natsCommandServer.js';
import { instrumentEventStore } from '../../eventstore/instrumented.js';
import { createErasureFollower } from '../../privacy/erasureFollower.js';
import type { EventStore } from '../../eventstore/port.js';
import { openEventStore } from '../../eventstore/open.js';
import { Relay } from '../../eventstore/relay/relay.js';
import type { Config } from '../../infra/config.js';
import { resolveDatabase } from '../../infra/database.js';
import type { Logger } from '../../infra/logger.js';
import { resolveNats } from '../../infra/natsServer.js';
import { createKysely, createPool } from '../../infra/postgres.js';
import { migrateReadModels } from '../../projections/db/migrate.js';
import type { Database } from '../../projections/db/schema.js';
import { PROJECTIONS } from '../../projections/index.js';
import { ProjectionRunner } from '../../projections/runner/projectionRunner.js';
import { registerLagGauges } from '../../projections/runner/lagMetrics.js';
import { stuckProjectionChecks } from '../../projections/runner/stuck.js';
import { startTracing } from '../../infra/tracing.js';
import { resolveTrackingSecret } from '../delivery/trackingTokens.js';
import { senderFromConfig, startLaunchSaga } from '../launch/handler.js';
import { CampaignScheduler } from '../scheduler/scheduler.js';

export interface Stack {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly eventStore: EventStore;
  readonly nats: NatsConnection;
  readonly graphqlUrl: string;
  stop(): Promise<void>;
}

type Cleanup = () => Promise<unknown>;

export async function startStack(baseConfig: Config, logger: Logger): Promise<Stack> {
  const config: Config = { ...baseConfig, trackingSecret: resolveTrackingSecret(baseConfig, logger) };
  const cleanups: Cleanup[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
  };
  try {
    const tracing = await startTracing(config.tracing, logger);
    cleanups.push(() => tracing.shutdown());
    const database = await resolveDatabase(config, logger);
    cleanups.push(() => database.stop());
    const natsServer = await resolveNats(config, logger);
    cleanups.push(() => natsServer.stop());
    const pool = createPool({ connectionString: database.url, max: 20 });
    cleanups.push(() => pool.end());
    const db = createKysely<Database>(pool);
    await migrateReadModels(db);
    // The production composition: personal data sealed under per-contact keys (src/privacy/), group commit.
    const eventStore = instrumentEventStore(await openEventStore(config, pool));
    cleanups.push(() => eventStore.close());
    const nats = await connect({ servers: natsServer.url, name: 'marketing-engine:demo', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    cleanups.push(() => nats.drain());
    const prefix = config.natsPrefix;

    const relay = new Relay({ store: eventStore, db, pool, nats, prefix, logger, checkpointEveryMs: 50 });
    relay.start();
    cleanups.push(() => relay.stop());
    const runners: ProjectionRunner[] = [];
    for (const projection of [...PROJECTIONS, createErasureFollower(nats, prefix)]) {
      const runner = new ProjectionRunner({ projection, db, pool, nats, prefix, store: eventStore, logger, standbyRetryMs: 200 });
      runner.start();
      runners.push(runner);
      cleanups.push(() => runner.stop());
    }
    registerLagGauges({ store: eventStore, db, relayCheckpointKey: relay.checkpointKey, projections: PROJECTIONS.map((p) => p.name) });
    const scheduler = new CampaignScheduler({ store: eventStore, db, logger });
    scheduler.start();
    cleanups.push(() => scheduler.stop());
    const saga = startLaunchSaga({
      eventStore, db, pool, nats, prefix, logger,
      sender: senderFromConfig(config, logger),
      trackingSecret: config.trackingSecret!,
      publicBaseUrl: config.publicBaseUrl,
      settings: { pollIntervalMs: 250, idleDelayMs: 50 },
    });
    cleanups.push(() => saga.stop());

    const readinessChecks = stuckProjectionChecks({ store: eventStore, db }, runners, config.projectionStuckAfterMs);
    const app: FastifyInstance = await buildServer({ config, db, eventStore, nats, logger, readinessChecks });
    const commandServer = new NatsCommandServer(nats, prefix, { eventStore, db, logger, now: () => new Date() });
    commandServer.start();
    cleanups.push(() => commandServer.stop());
    await app.listen({ port: config.port, host: config.host });
    cleanups.push(() => app.close());
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    return { config, db, pool, eventStore, nats, graphqlUrl: `http://${config.host}:${port}/graphql`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
