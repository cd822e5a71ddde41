/**
 * Group commit (src/eventstore/groupCommit.ts) on the real PostgreSQL store: concurrent appends and reads are
 * coalesced, and each call still gets exactly its own result or error.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrongExpectedRevisionError } from '../../src/eventstore/errors.js';
import { withGroupCommit } from '../../src/eventstore/groupCommit.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { createPool } from '../../src/infra/postgres.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { newEvent } from './contract.js';

const stream = () => `group-${randomUUID()}`;

describe('group commit', () => {
  let database: TestDatabase;
  let pool: ReturnType<typeof createPool>;
  let inner: EventStore;
  let store: EventStore;
  const calls = { append: 0, appendMany: 0, readStream: 0, readStreams: 0 };

  beforeAll(async () => {
    database = await createTestDatabase('group_commit');
    pool = createPool({ connectionString: database.url, max: 20 });
    await migrateEventStore(pool);
    const postgres = createPostgresEventStore({ pool });
    // Counts what reaches the real store; every call still goes to PostgreSQL.
    inner = {
      ...postgres,
      kind: postgres.kind,
      append: (...args) => (calls.append++, postgres.append(...args)),
      appendMany: (...args) => (calls.appendMany++, postgres.appendMany(...args)),
      readStream: (...args) => (calls.readStream++, postgres.readStream(...args)),
      readStreams: (...args) => (calls.readStreams++, postgres.readStreams(...args)),
      close: () => postgres.close(),
    };
    store = withGroupCommit(inner);
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await database.drop();
  });
  const reset = () => Object.assign(calls, { append: 0, appendMany: 0, readStream: 0, readStreams: 0 });

  it('refuses a store whose appendMany is not atomic', () => {
    expect(() => withGroupCommit({ ...inner, kind: 'esdb' })).toThrow(/atomic appendMany/);
  });

  it('when 50 appends to different streams arrive together, they are written in a few statements with dense positions', async () => {
    reset();
    const streams = Array.from({ length: 50 }, stream);
    const results = await Promise.all(streams.map((s) => store.append(s, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' })));
    expect(results.every((r) => r.nextExpectedRevision === 1)).toBe(true);
    expect(calls.append + calls.appendMany).toBeLessThan(50);
    expect(calls.appendMany).toBeGreaterThan(0);
    const positions = (await Promise.all(streams.map((s) => store.readStream(s)))).flatMap((r) => (r.status === 'found' ? r.events.map((e) => e.position) : []));
    const sorted = [...positions].sort((a, b) => (a < b ? -1 : 1));
    expect(sorted.length).toBe(100);
    expect(sorted.every((p, i) => i === 0 || p === sorted[i - 1]! + 1n)).toBe(true);
  });

  it('one conflicting append in a group fails alone; the others are written', async () => {
    const taken = stream();
    await store.append(taken, [newEvent('A')], { expectedRevision: 'no_stream' });
    reset();
    const fresh = Array.from({ length: 20 }, stream);
    const outcomes = await Promise.allSettled([
      ...fresh.map((s) => store.append(s, [newEvent('A')], { expectedRevision: 'no_stream' })),
      store.append(taken, [newEvent('B')], { expectedRevision: 'no_stream' }),
      ...fresh.map((s) => store.append(s, [newEvent('B')], { expectedRevision: 0 })),
    ]);
    const conflict = outcomes[20]!;
    expect(conflict.status).toBe('rejected');
    expect((conflict as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect((conflict as PromiseRejectedResult).reason).toMatchObject({ streamId: taken, actual: 0 });
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(40);
    for (const s of fresh) {
      const read = await store.readStream(s);
      expect(read.status === 'found' && read.events.map((e) => e.type)).toEqual(['A', 'B']);
    }
    const read = await store.readStream(taken);
    expect(read.status === 'found' && read.events.map((e) => e.type)).toEqual(['A']);
  });

  it('a re-append of stored event ids inside a group is idempotent, as alone', async () => {
    const s = stream();
    const events = [newEvent('A', {}, { id: randomUUID() })];
    const first = await store.append(s, events, { expectedRevision: 'no_stream' });
    const [again, other] = await Promise.all([
      store.append(s, events, { expectedRevision: 'no_stream' }),
      store.append(stream(), [newEvent('X')], { expectedRevision: 'no_stream' }),
      store.append(stream(), [newEvent('Y')], { expectedRevision: 'no_stream' }),
    ]);
    expect(again).toEqual(first);
    expect(other!.nextExpectedRevision).toBe(0);
  });

  it('concurrent whole-stream reads are coalesced and keep found / not_found', async () => {
    const present = stream();
    await store.append(present, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' });
    reset();
    const reads = await Promise.all([present, stream(), present, ...Array.from({ length: 20 }, stream)].map((s) => store.readStream(s)));
    expect(reads[0]).toMatchObject({ status: 'found' });
    expect(reads[0]!.status === 'found' && reads[0]!.events.map((e) => e.revision)).toEqual([0, 1]);
    expect(reads[2]).toEqual(reads[0]);
    expect(reads[1]).toMatchObject({ status: 'not_found' });
    expect(calls.readStream + calls.readStreams).toBeLessThan(reads.length);
  });

  it('an invalid stream id among coalesced reads fails only that read', async () => {
    const present = stream();
    await store.append(present, [newEvent('A')], { expectedRevision: 'no_stream' });
    const outcomes = await Promise.allSettled([stream(), present, '', present].map((s) => store.readStream(s)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  });
});
