/**
 * A launch saga worker in its own process, for the SIGKILL test (crash.test.ts). Configured by environment:
 * DATABASE_URL, NATS_URL, NATS_PREFIX, SMTP_URL, RATE (messages per second), BATCH. Writes "ready" on stdout
 * once started, then runs until it is killed.
 */
import { connect } from '@nats-io/transport-node';
import { createPostgresEventStore } from '../../../src/eventstore/postgres/index.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { createSmtpSender } from '../../../src/sagas/delivery/smtpSender.js';
import { LaunchSagaWorker } from '../../../src/sagas/launch/handler.js';
import { SECRET, TEST_SETTINGS } from './settings.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const pool = createPool({ connectionString: env('DATABASE_URL'), max: 10 });
const db = createKysely<Database>(pool);
const eventStore = createPostgresEventStore({ pool });
const nats = await connect({ servers: env('NATS_URL'), name: 'launch-worker-child' });
const sender = createSmtpSender({ smtpUrl: env('SMTP_URL'), logger: silentLogger, ratePerSecond: Number(env('RATE')) });
const worker = new LaunchSagaWorker({
  eventStore,
  db,
  pool,
  nats,
  prefix: env('NATS_PREFIX'),
  logger: silentLogger,
  sender,
  trackingSecret: SECRET,
  publicBaseUrl: 'https://t.example.com',
  workerId: `child-${process.pid}`,
  // This worker is killed, never reconciles: its 'sending' rows are left for the restarted worker.
  settings: { ...TEST_SETTINGS, batchSize: Number(env('BATCH')), staleSendingAfterMs: 10 * 60_000 },
});
worker.start();
process.stdout.write('ready\n');
