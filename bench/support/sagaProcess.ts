/**
 * A launch saga worker in its own process, for the `launch` benchmark (1/2/4 workers; its RSS is the worker's
 * own, without the benchmark's seeding, relay and projections). Environment: DATABASE_URL, NATS_URL, NATS_PREFIX,
 * SMTP_URL, SMTP_POOL, BATCH. Writes "ready" on stdout once started. On the IPC message 'stop' it stops the
 * worker and answers `{ rssPeakMb }` (RSS sampled every 100 ms since start), then exits.
 */
import { connect } from '@nats-io/transport-node';
import { createPostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import type { Database } from '../../src/projections/db/schema.js';
import { createSmtpSender } from '../../src/sagas/delivery/smtpSender.js';
import { LaunchSagaWorker } from '../../src/sagas/launch/handler.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

let rssPeak = process.memoryUsage.rss();
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 100);
const pool = createPool({ connectionString: env('DATABASE_URL'), max: 20, applicationName: 'bench-saga' });
const db = createKysely<Database>(pool);
const eventStore = createPostgresEventStore({ pool });
const nats = await connect({ servers: env('NATS_URL') });
const smtpPool = Number(env('SMTP_POOL'));
const sender = createSmtpSender({ smtpUrl: env('SMTP_URL'), logger: silentLogger, maxConnections: smtpPool, ratePerSecond: 1_000_000, burst: 1_000 });
const worker = new LaunchSagaWorker({
  eventStore, db, pool, nats, prefix: env('NATS_PREFIX'), logger: silentLogger, sender,
  trackingSecret: 'bench-tracking-secret-0123456789abcdef', publicBaseUrl: 'https://t.example.com',
  settings: { batchSize: Number(env('BATCH')), pollIntervalMs: 250, idleDelayMs: 20 },
});
worker.start();
process.stdout.write('ready\n');
process.on('message', (message) => {
  if (message !== 'stop') return;
  const exit = setTimeout(() => process.exit(0), 10_000);
  void (async () => {
    const rssPeakMb = Math.round((Math.max(rssPeak, process.memoryUsage.rss()) / 1024 / 1024) * 10) / 10;
    clearInterval(sampler);
    process.send?.({ rssPeakMb });
    await worker.stop().catch(() => {});
    await sender.close();
    await nats.close().catch(() => {});
    await pool.end().catch(() => {});
    clearTimeout(exit);
    process.exit(0);
  })();
});
