import type pg from 'pg';
import type { Config } from '../infra/config.js';
import { createEsdbEventStore } from './esdb/esdbEventStore.js';
import type { EventStore } from './port.js';
import { createPostgresEventStore, migrateEventStore } from './postgres/index.js';

/** The configured event store: EventStoreDB (checked to answer), or the PostgreSQL store on `pool` (migrated). */
export async function openEventStore(config: Config, pool: pg.Pool): Promise<EventStore> {
  if (config.eventStore === 'esdb') {
    const store = createEsdbEventStore({ connectionString: config.esdbConnectionString! });
    await store.ping();
    return store;
  }
  await migrateEventStore(pool);
  return createPostgresEventStore({ pool });
}
