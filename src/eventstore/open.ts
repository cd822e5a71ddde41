import type pg from 'pg';
import type { Config } from '../infra/config.js';
import { createKysely } from '../infra/postgres.js';
import type { Database } from '../projections/db/schema.js';
import { ContactKeyStore } from '../privacy/keyStore.js';
import { protectEventStore } from '../privacy/protectedStore.js';
import { createEsdbEventStore } from './esdb/esdbEventStore.js';
import { withGroupCommit } from './groupCommit.js';
import type { EventStore } from './port.js';
import { createPostgresEventStore, migrateEventStore } from './postgres/index.js';

/**
 * The configured event store: EventStoreDB (checked to answer), or the PostgreSQL store on `pool` (migrated),
 * protected (src/privacy/protectedStore.ts): personal data sealed under per-contact keys kept in the read
 * database on `pool` (migrated read models required), every read opened and upcast to today's schema.
 * PostgreSQL also gets group commit (src/eventstore/groupCommit.ts) on top, so that a group of concurrent
 * appends is sealed with one key-store statement and written in one transaction.
 */
export async function openEventStore(config: Config, pool: pg.Pool): Promise<EventStore> {
  const keys = new ContactKeyStore(createKysely<Database>(pool));
  if (config.eventStore === 'esdb') {
    const store = createEsdbEventStore({ connectionString: config.esdbConnectionString! });
    await store.ping();
    return protectEventStore(store, keys);
  }
  await migrateEventStore(pool);
  return withGroupCommit(protectEventStore(createPostgresEventStore({ pool }), keys));
}
