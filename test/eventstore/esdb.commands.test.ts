import { createEsdbEventStore } from '../../src/eventstore/esdb/esdbEventStore.js';
import { startEsdbDouble } from '../support/esdbDouble/server.js';
import { commandHandlerContract } from './commandHandler.contract.js';

commandHandlerContract('EventStoreDB adapter on the gRPC test double', async () => {
  const double = await startEsdbDouble();
  const store = createEsdbEventStore({ connectionString: double.connectionString });
  return { store, cleanup: async () => { await store.close(); await double.stop(); } };
});
