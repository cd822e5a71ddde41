import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, eventTypeFilter } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidAppendError } from '../../src/eventstore/errors.js';
import { createEsdbEventStore } from '../../src/eventstore/esdb/esdbEventStore.js';
import { packPosition, unpackPosition } from '../../src/eventstore/esdb/position.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { startEsdbDouble, type EsdbDouble } from '../support/esdbDouble/server.js';
import { eventStoreContract, newEvent } from './contract.js';

eventStoreContract('EventStoreDB adapter on the gRPC test double', async () => {
  const double = await startEsdbDouble();
  const store = createEsdbEventStore({ connectionString: double.connectionString });
  return {
    store,
    async cleanup() {
      await store.close();
      await double.stop();
    },
  };
});

const realEsdb = process.env.ESDB_CONNECTION_STRING;
if (realEsdb) {
  eventStoreContract('real EventStoreDB', async () => {
    const store = createEsdbEventStore({ connectionString: realEsdb });
    return { store, cleanup: () => store.close() };
  });
} else {
  describe.skip('real EventStoreDB: skipped, ESDB_CONNECTION_STRING is not set', () => {
    it('runs the event store contract against a real EventStoreDB', () => {});
  });
}

describe('EventStoreDB position packing', () => {
  it('round-trips commit and prepare losslessly, up to 64 bits each', () => {
    const max = (1n << 64n) - 1n;
    for (const position of [
      { commit: 0n, prepare: 0n },
      { commit: 4_096n, prepare: 4_032n },
      { commit: 1n, prepare: max },
      { commit: max, prepare: max },
    ]) {
      expect(unpackPosition(packPosition(position))).toEqual(position);
    }
  });

  it('orders packed positions like EventStoreDB: by commit, then by prepare', () => {
    const sameCommit = [packPosition({ commit: 900n, prepare: 100n }), packPosition({ commit: 900n, prepare: 700n })];
    const laterCommit = packPosition({ commit: 901n, prepare: 0n });
    expect(sameCommit[0]! < sameCommit[1]! && sameCommit[1]! < laterCommit).toBe(true);
  });

  it('rejects values that are not positions', () => {
    expect(() => packPosition({ commit: -1n, prepare: 0n })).toThrow(RangeError);
    expect(() => unpackPosition(1n << 128n)).toThrow(RangeError);
  });
});

describe('EventStoreDB adapter specifics (on the gRPC test double)', () => {
  let double: EsdbDouble;
  let store: EventStore;
  beforeAll(async () => {
    double = await startEsdbDouble();
    store = createEsdbEventStore({ connectionString: double.connectionString });
  });
  afterAll(async () => {
    await store?.close();
    await double?.stop();
  });

  it('hides system events ($ types and $ streams) from readAll, headPosition and subscribeAll', async () => {
    const streamId = `sys-${randomUUID()}`;
    // The double writes a $statsCollected event after every third append, after the appended events.
    for (let i = 0; i < 3; i++) await store.append(streamId, [newEvent(`E${i}`)], { expectedRevision: i === 0 ? 'no_stream' : i - 1 });
    const all = await store.readAll({ after: null, maxCount: 1_000 });
    expect(all.map((e) => e.type)).toEqual(['E0', 'E1', 'E2']);
    expect(all.every((e) => !e.streamId.startsWith('$') && !e.type.startsWith('$'))).toBe(true);
    expect(await store.headPosition()).toBe(all[2]!.position);

    const subscription = store.subscribeAll();
    const seen: string[] = [];
    for await (const event of subscription) {
      seen.push(event.type);
      if (seen.length === 3) break;
    }
    await subscription.close();
    expect(seen).toEqual(['E0', 'E1', 'E2']);
  });

  it('gives the events of one append distinct positions although they share a commit position', async () => {
    const streamId = `multi-${randomUUID()}`;
    const result = await store.append(streamId, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' });
    const read = await store.readStream(streamId);
    if (read.status !== 'found') throw new Error('expected found');
    const [a, b] = read.events.map((e) => unpackPosition(e.position));
    expect(a!.commit).toBe(b!.commit);
    expect(a!.prepare).not.toBe(a!.commit);
    expect(a!.prepare < b!.prepare).toBe(true);
    expect(result.position).toBe(read.events[1]!.position);
  });

  it("maps EventStoreDB's maximum append size to InvalidAppendError and writes nothing", async () => {
    const streamId = `big-${randomUUID()}`;
    const half = 'x'.repeat(600 * 1024);
    const error = await store
      .append(streamId, [newEvent('Big', { half }), newEvent('Big', { half })], { expectedRevision: 'no_stream' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAppendError);
    expect(await store.readStream(streamId)).toEqual({ status: 'not_found', streamId });
  });

  it('answers ping, and fails it with EventStoreUnavailableError when nothing listens', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
    const gone = await startEsdbDouble();
    await gone.stop();
    const unreachable = createEsdbEventStore({ connectionString: gone.connectionString });
    await expect(unreachable.ping()).rejects.toMatchObject({ code: 'EVENT_STORE_UNAVAILABLE' });
    await expect(unreachable.append(`x-${randomUUID()}`, [newEvent('A')], { expectedRevision: 'any' })).rejects.toMatchObject({
      code: 'EVENT_STORE_UNAVAILABLE',
    });
    await unreachable.close();
  });
});

describe('EventStoreDB gRPC test double honesty', () => {
  it('rejects what it does not implement instead of ignoring it', async () => {
    const double = await startEsdbDouble();
    const client = EventStoreDBClient.connectionString(double.connectionString);
    const drain = async (read: AsyncIterable<unknown>) => {
      for await (const _ of read);
    };
    try {
      await expect(drain(client.readAll({ resolveLinkTos: true, maxCount: 1 }))).rejects.toThrow(/UNIMPLEMENTED.*resolving links/);
      await expect(drain(client.subscribeToAll({ filter: eventTypeFilter({ prefixes: ['A'] }) }))).rejects.toThrow(/UNIMPLEMENTED.*filtering/);
      await expect(drain(client.subscribeToStream('any-stream'))).rejects.toThrow(/UNIMPLEMENTED.*single stream/);
      await expect(client.deleteStream('any-stream')).rejects.toThrow(/UNIMPLEMENTED/);
    } finally {
      await client.dispose();
      await double.stop();
    }
  });

  it('ends a subscription with EventStoreUnavailableError when the server goes away', async () => {
    const double = await startEsdbDouble();
    const store = createEsdbEventStore({ connectionString: double.connectionString });
    const subscription = store.subscribeAll();
    const iteration = (async () => {
      for await (const _ of subscription);
    })();
    await new Promise((r) => setTimeout(r, 50));
    await double.stop();
    await expect(iteration).rejects.toMatchObject({ code: 'EVENT_STORE_UNAVAILABLE' });
    await store.close();
  });
});
