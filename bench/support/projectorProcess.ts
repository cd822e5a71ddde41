/**
 * Projection runners in their own process, for the `projection` benchmark's 1/2/4-process scaling. Environment:
 * DATABASE_URL, NATS_URL, NATS_PREFIX, PROJECTIONS (comma-separated bench projection names). Writes "ready" on
 * stdout once connected, starts its runners on the IPC message 'go'; stops its runners and exits on SIGTERM.
 */
import { connect } from '@nats-io/transport-node';
import { createPostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { benchProjection } from './benchProjection.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const names = env('PROJECTIONS').split(',');
const pool = createPool({ connectionString: env('DATABASE_URL'), max: names.length * 2 + 2, applicationName: 'bench-projector' });
const db = createKysely<Database>(pool);
const store = createPostgresEventStore({ pool });
const nats = await connect({ servers: env('NATS_URL') });
const runners = names.map((name) => new ProjectionRunner({ projection: benchProjection(name), db, pool, nats, prefix: env('NATS_PREFIX'), store, logger: silentLogger, standbyRetryMs: 100 }));
// Started on 'go' (IPC), so the parent's clock does not include this process's start-up.
process.on('message', (message) => {
  if (message === 'go') for (const runner of runners) runner.start();
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  const exit = setTimeout(() => process.exit(0), 5_000);
  void Promise.all(runners.map((r) => r.stop()))
    .then(() => nats.close())
    .then(() => pool.end())
    .finally(() => {
      clearTimeout(exit);
      process.exit(0);
    });
});
