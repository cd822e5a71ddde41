import type { EventStore } from '../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { createPool } from '../../src/infra/postgres.js';
import { createTestDatabase } from '../support/postgres.js';
import type { ContractHarness } from './contract.js';

/** A fresh migrated database with the PostgreSQL store on it, optionally wrapped (group commit); dropped in cleanup. */
export async function postgresHarness(label: string, wrap: (store: EventStore) => EventStore = (store) => store): Promise<ContractHarness> {
  const database = await createTestDatabase(label);
  const pool = createPool({ connectionString: database.url, max: 20 });
  await migrateEventStore(pool);
  const store = wrap(createPostgresEventStore({ pool, idlePollMs: 200 }));
  return {
    store,
    async cleanup() {
      await store.close();
      await pool.end();
      await database.drop();
    },
  };
}
