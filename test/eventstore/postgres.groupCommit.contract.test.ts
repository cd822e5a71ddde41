import { withGroupCommit } from '../../src/eventstore/groupCommit.js';
import { commandHandlerContract } from './commandHandler.contract.js';
import { eventStoreContract } from './contract.js';
import { postgresHarness } from './postgresHarness.js';

/** The PostgreSQL store behind group commit (as openEventStore composes it) must keep the whole contract. */
eventStoreContract('PostgreSQL adapter with group commit', () => postgresHarness('pg_group_contract', withGroupCommit));
commandHandlerContract('PostgreSQL adapter with group commit', () => postgresHarness('pg_group_commands', withGroupCommit));
