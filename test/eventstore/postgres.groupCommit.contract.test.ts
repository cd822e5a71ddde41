import { createPool } from '../../src/infra/postgres.js';
import { withGroupCommit } from '../../src/eventstore/groupCommit.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { createTestDatabase } from '../support/postgres.js';
import { commandHandlerContract } from './commandHandler.contract.js';
import { eventStoreContract, type ContractHarness } from './contract.js';

/** The PostgreSQL store behind group commit (as openEventStore composes it) must keep the whole contract. */
async function harness(label: string): Promise<ContractHarness> {
  const database = await createTestDatabase(label);
  const pool = createPool({ connectionString: database.url, max: 20 });
  await migrateEventStore(pool);
  const store = withGroupCommit(createPostgresEventStore({ pool, idlePollMs: 200 }));
  return {
    store,
    async cleanup() {
      await store.close();
      await pool.end();
      await database.drop();
    },
  };
}

eventStoreContract('PostgreSQL adapter with group commit', () => harness('pg_group_contract'));
commandHandlerContract('PostgreSQL adapter with group commit', () => harness('pg_group_commands'));
