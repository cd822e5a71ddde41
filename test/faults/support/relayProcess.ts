/**
 * The relay alone in its own process, for the kill loop (relayKillLoop.faults.ts): the production event store
 * (openEventStore: protected PostgreSQL store) and Relay. DATABASE_URL, NATS_URL, NATS_PREFIX from the
 * environment. Writes "ready" on stdout once it is the active relay and "publishing" once it has published, then relays until it is killed.
 */
import { connect } from '@nats-io/transport-node';
import { openEventStore } from '../../../src/eventstore/open.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { loadConfig } from '../../../src/infra/config.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import type { Database } from '../../../src/projections/db/schema.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const pool = createPool({ connectionString: config.databaseUrl!, max: 4 });
const nats = await connect({ servers: config.natsUrl, name: 'faults-relay-child' });
const relay = new Relay({ store: await openEventStore(config, pool), db: createKysely<Database>(pool), pool, nats, prefix: config.natsPrefix, logger: silentLogger, checkpointEveryMs: 50, standbyRetryMs: 100 });
relay.start();
// "ready" once this relay is the active one (holds the lock), "publishing" once it has published an event.
let said = '';
const progress = setInterval(() => {
  if (said === '' && relay.status.active) process.stdout.write((said = 'ready\n'));
  if (said === 'ready\n' && relay.status.lastPublished !== null) {
    process.stdout.write((said = 'publishing\n'));
    clearInterval(progress);
  }
}, 10);
