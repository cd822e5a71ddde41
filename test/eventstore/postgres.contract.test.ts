import { createPool } from '../../src/infra/postgres.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { createTestDatabase } from '../support/postgres.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('PostgreSQL adapter', async () => {
  const database = await createTestDatabase('pg_contract');
  const pool = createPool({ connectionString: database.url, max: 20 });
  await migrateEventStore(pool);
  const store = createPostgresEventStore({ pool, idlePollMs: 200 });
  return {
    store,
    async cleanup() {
      await store.close();
      await pool.end();
      await database.drop();
    },
  };
});
