import { eventStoreContract } from './contract.js';
import { postgresHarness } from './postgresHarness.js';

eventStoreContract('PostgreSQL adapter', () => postgresHarness('pg_contract'));
