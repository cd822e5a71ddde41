/**
 * Gap safety of the PostgreSQL global log: an append transaction held open must never let a reader or a
 * subscription skip its event when it commits after a later append.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/infra/postgres.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { EventStoreUnavailableError, InvalidAppendError } from '../../src/eventstore/errors.js';
import { useTestDatabase } from '../support/postgres.js';
import { metadata, newEvent } from './contract.js';

let pool: pg.Pool;
let store: EventStore;
let url: string;

beforeAll(async () => {
  url = (await useTestDatabase('pg_gap')).url;
  pool = createPool({ connectionString: url, max: 10 });
  await migrateEventStore(pool);
  store = createPostgresEventStore({ pool, idlePollMs: 50 });
});
afterAll(async () => {
  await store.close();
  await pool.end();
});

/** Starts an append in an explicit transaction and leaves it open, as a slow writer would. */
async function openAppend(streamId: string, type: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT * FROM es_append($1, $2, $3::uuid[], $4::text[], $5::jsonb, $6::jsonb)', [
    streamId, 'no_stream', [randomUUID()], [type], JSON.stringify([{}]), JSON.stringify([metadata()]),
  ]);
  return {
    commit: async () => { await client.query('COMMIT'); await client.end(); },
    rollback: async () => { await client.query('ROLLBACK'); await client.end(); },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('PostgreSQL global log is gap-safe', () => {
  it('given an open append, when a later append is made, then neither readAll nor a subscription skips the earlier one', async () => {
    const start = await store.headPosition();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeAll({ after: start });
    const consuming = (async () => {
      for await (const event of subscription) {
        seen.push(event);
        if (seen.length === 2) break;
      }
    })();

    const slow = await openAppend(`gap-${randomUUID()}`, 'Slow');
    let laterDone = false;
    const later = store.append(`gap-${randomUUID()}`, [newEvent('Later')], { expectedRevision: 'no_stream' }).then((r) => {
      laterDone = true;
      return r;
    });
    await settle();
    // The later append waits for the open one: nothing with a higher position can become visible first.
    expect(laterDone).toBe(false);
    expect(await store.readAll({ after: start, maxCount: 10 })).toEqual([]);
    expect(seen).toEqual([]);

    await slow.commit();
    const laterResult = await later;
    await consuming;
    await subscription.close();
    expect(seen.map((e) => e.type)).toEqual(['Slow', 'Later']);
    expect(seen[1]!.position).toBe(laterResult.position);
    expect(seen[0]!.position < seen[1]!.position).toBe(true);
    const read = await store.readAll({ after: start, maxCount: 10 });
    expect(read.map((e) => e.type)).toEqual(['Slow', 'Later']);
  });

  it('given an open append that rolls back, then the later append proceeds and the log has no hole', async () => {
    const start = (await store.headPosition()) ?? 0n;
    const slow = await openAppend(`gap-${randomUUID()}`, 'RolledBack');
    const later = store.append(`gap-${randomUUID()}`, [newEvent('AfterRollback')], { expectedRevision: 'no_stream' });
    await settle();
    await slow.rollback();
    const { position } = await later;
    expect(position).toBe(start + 1n);
    const read = await store.readAll({ after: start, maxCount: 10 });
    expect(read.map((e) => e.type)).toEqual(['AfterRollback']);
  });

  it('1,000 concurrent appends across 50 streams produce a dense, ordered log that a live subscription reads completely', async () => {
    const start = (await store.headPosition()) ?? 0n;
    const subscription = store.subscribeAll({ after: start });
    const received: RecordedEvent[] = [];
    const consuming = (async () => {
      for await (const event of subscription) {
        received.push(event);
        if (received.length === 1000) break;
      }
    })();
    const streams = Array.from({ length: 50 }, () => `dense-${randomUUID()}`);
    await Promise.all(
      streams.map(async (streamId) => {
        for (let i = 0; i < 20; i++) await store.append(streamId, [newEvent('N', { i })], { expectedRevision: i === 0 ? 'no_stream' : i - 1 });
      }),
    );
    await consuming;
    await subscription.close();
    expect(received.map((e) => e.position)).toEqual(Array.from({ length: 1000 }, (_, i) => start + BigInt(i + 1)));
    for (const streamId of streams) {
      expect(received.filter((e) => e.streamId === streamId).map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
  });
});

describe('PostgreSQL unavailable', () => {
  it('an append against an unreachable database fails with EventStoreUnavailableError', async () => {
    const deadPool = createPool({ connectionString: 'postgres://root@127.0.0.1:1/none' });
    const dead = createPostgresEventStore({ pool: deadPool });
    const error = await dead.append('x-1', [newEvent('A')], { expectedRevision: 'any' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect(await dead.ping().catch((e: unknown) => e)).toBeInstanceOf(EventStoreUnavailableError);
    await dead.close();
    await deadPool.end();
  });
});

describe('PostgreSQL appendMany under concurrency', () => {
  it('overlapping batches in opposite stream order never deadlock; each either lands whole or conflicts', async () => {
    const streams = Array.from({ length: 6 }, () => `bulk-${randomUUID()}`);
    const batch = (order: string[]) => order.map((streamId) => ({ streamId, events: [newEvent('Bulk')], expectedRevision: 'any' as const }));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.appendMany(batch(i % 2 === 0 ? streams : [...streams].reverse()))),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const read = await store.readStreams(streams);
    for (const streamId of streams) expect(read.get(streamId)!.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('an event id already stored fails the whole call with InvalidAppendError naming that event; nothing is written', async () => {
    const stored = newEvent('Stored', {}, { id: randomUUID() });
    const existing = `bulk-${randomUUID()}`;
    await store.append(existing, [stored], { expectedRevision: 'no_stream' });
    const head = await store.headPosition();
    const [fresh, other] = [`bulk-${randomUUID()}`, `bulk-${randomUUID()}`];
    const error = await store
      .appendMany([
        { streamId: fresh, events: [newEvent('F0')], expectedRevision: 'no_stream' },
        { streamId: other, events: [newEvent('O0'), { ...stored, type: 'Again' }], expectedRevision: 'no_stream' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAppendError);
    expect(error).toMatchObject({ field: 'appends[1].events[1].id', message: expect.stringContaining(stored.id!) });
    expect(await store.headPosition()).toBe(head);
    for (const streamId of [fresh, other]) expect((await store.readStream(streamId)).status).toBe('not_found');
    // The same call without the stored event goes through: the failed one left no stream behind.
    const results = await store.appendMany([
      { streamId: fresh, events: [newEvent('F0')], expectedRevision: 'no_stream' },
      { streamId: other, events: [newEvent('O0')], expectedRevision: 'no_stream' },
    ]);
    expect(results.map((r) => r.nextExpectedRevision)).toEqual([0, 0]);
  });

  it('batches that create and extend the same streams concurrently, with single appends in between, all land: dense log, gap-free revisions', async () => {
    const start = (await store.headPosition()) ?? 0n;
    const existing = Array.from({ length: 4 }, () => `bulk-${randomUUID()}`);
    for (const streamId of existing) await store.append(streamId, [newEvent('Seed')], { expectedRevision: 'no_stream' });
    // New streams that several batches race to create (one creates, the others find it existing and lock it).
    const fresh = Array.from({ length: 8 }, () => `bulk-${randomUUID()}`);
    const batch = (i: number) => {
      const mine = [...existing.filter((_, k) => (k + i) % 2 === 0), ...fresh.filter((_, k) => (k + i) % 3 !== 0)];
      return (i % 2 === 0 ? mine : mine.reverse()).map((streamId) => ({ streamId, events: [newEvent('Bulk'), newEvent('Bulk')], expectedRevision: 'any' as const }));
    };
    const batches = Array.from({ length: 16 }, (_, i) => batch(i));
    const singles = fresh.slice(0, 4).map((streamId) => ({ streamId, events: [newEvent('Single')], expectedRevision: 'any' as const }));
    const outcomes = await Promise.allSettled([
      ...batches.map((b) => store.appendMany(b)),
      ...singles.map((s) => store.append(s.streamId, s.events, { expectedRevision: 'any' })),
    ]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const written = batches.reduce((n, b) => n + 2 * b.length, 0) + singles.length;
    const log = await store.readAll({ after: start, maxCount: 10_000 });
    expect(log.length).toBe(existing.length + written);
    expect(log.map((e) => e.position)).toEqual(log.map((_, i) => start + BigInt(i + 1)));
    const read = await store.readStreams([...existing, ...fresh]);
    for (const [streamId, events] of read) {
      const expected = (existing.includes(streamId) ? 1 : 0) + 2 * batches.filter((b) => b.some((a) => a.streamId === streamId)).length + singles.filter((s) => s.streamId === streamId).length;
      expect(events.map((e) => e.revision)).toEqual(Array.from({ length: expected }, (_, i) => i));
    }
  });
});
