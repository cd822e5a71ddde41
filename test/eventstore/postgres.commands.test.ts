import { createPool } from '../../src/infra/postgres.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { createTestDatabase } from '../support/postgres.js';
import { commandHandlerContract } from './commandHandler.contract.js';

commandHandlerContract('PostgreSQL adapter', async () => {
  const database = await createTestDatabase('pg_commands');
  const pool = createPool({ connectionString: database.url, max: 20 });
  await migrateEventStore(pool);
  const store = createPostgresEventStore({ pool });
  return { store, cleanup: async () => { await store.close(); await pool.end(); await database.drop(); } };
});
