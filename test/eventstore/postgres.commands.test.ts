import { commandHandlerContract } from './commandHandler.contract.js';
import { postgresHarness } from './postgresHarness.js';

commandHandlerContract('PostgreSQL adapter', () => postgresHarness('pg_commands'));
