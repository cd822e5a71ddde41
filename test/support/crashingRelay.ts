/**
 * A relay process that kills itself with SIGKILL after JetStream has acknowledged the event at CRASH_AT_POSITION
 * but before that event's checkpoint is written. Started by test/eventstore/relay/relay.test.ts.
 */
import { connect } from '@nats-io/transport-node';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../src/infra/logger.js';
import type { Database } from '../../src/projections/db/schema.js';

const { DATABASE_URL, NATS_URL, NATS_PREFIX, CRASH_AT_POSITION } = process.env;
const pool = createPool({ connectionString: DATABASE_URL! });
const nats = await connect({ servers: NATS_URL! });
const crashAt = BigInt(CRASH_AT_POSITION!);
const relay = new Relay({
  store: createPostgresEventStore({ pool }),
  db: createKysely<Database>(pool),
  pool,
  nats,
  prefix: NATS_PREFIX!,
  logger: silentLogger,
  maxInFlight: 50,
  checkpointEveryMs: 600_000,
  afterPublish: async (event) => {
    if (event.position !== crashAt) return;
    await nats.flush(); // every publish so far has reached the server...
    await new Promise((r) => setTimeout(r, 300)); // ...and been acknowledged; the checkpoint has not moved.
    process.kill(process.pid, 'SIGKILL');
  },
});
relay.start();
