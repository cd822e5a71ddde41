/**
 * The event store contract: one suite, run against every adapter (PostgreSQL, EventStoreDB on the gRPC test
 * double, and real EventStoreDB when ESDB_CONNECTION_STRING is set).
 *
 * Tests use unique stream ids and only look at the part of the global log written after they started, so the
 * suite also runs against a shared, non-empty store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppendManyError, InvalidAppendError, WrongExpectedRevisionError } from '../../src/eventstore/errors.js';
import type { EventMetadata, EventStore, NewEvent, RecordedEvent } from '../../src/eventstore/port.js';

export interface ContractHarness {
  readonly store: EventStore;
  cleanup(): Promise<void>;
}

export function metadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return {
    correlationId: randomUUID(),
    causationId: null,
    commandId: null,
    actor: 'user:test',
    workspaceId: 'ws-test',
    schemaVersion: 1,
    ...overrides,
  };
}

export function newEvent(type: string, data: unknown = {}, overrides: Partial<NewEvent> = {}): NewEvent {
  return { type, data, metadata: metadata(), ...overrides };
}

const uniqueStream = (category = 'contract') => `${category}-${randomUUID()}`;

/** `leaf` wrapped in `depth` levels of `{ n: … }`. */
const nested = (depth: number, leaf: unknown): unknown => (depth === 0 ? leaf : { n: nested(depth - 1, leaf) });

async function readAllAfter(store: EventStore, after: bigint | null): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, maxCount: 500 });
    out.push(...page);
    if (page.length < 500) return out;
    cursor = page[page.length - 1]!.position;
  }
}

export function eventStoreContract(name: string, createHarness: () => Promise<ContractHarness>): void {
  describe(`EventStore contract: ${name}`, () => {
    let harness: ContractHarness;
    let store: EventStore;
    beforeAll(async () => {
      harness = await createHarness();
      store = harness.store;
    });
    afterAll(() => harness?.cleanup());

    describe('append and expected revision', () => {
      it('given no stream, when appending with no_stream, then revisions start at 0 and positions increase', async () => {
        const streamId = uniqueStream();
        const result = await store.append(streamId, [newEvent('A'), newEvent('B'), newEvent('C')], {
          expectedRevision: 'no_stream',
        });
        expect(result.nextExpectedRevision).toBe(2);
        const read = await store.readStream(streamId);
        expect(read.status).toBe('found');
        if (read.status !== 'found') return;
        expect(read.events.map((e) => [e.type, e.revision])).toEqual([['A', 0], ['B', 1], ['C', 2]]);
        const positions = read.events.map((e) => e.position);
        expect(positions[0]! < positions[1]! && positions[1]! < positions[2]!).toBe(true);
        expect(positions[2]).toBe(result.position);
      });

      it('given a stream, when appending with no_stream, then WrongExpectedRevision names the actual revision', async () => {
        const streamId = uniqueStream();
        await store.append(streamId, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' });
        const error = await store.append(streamId, [newEvent('C')], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', streamId, actual: 1, retryable: true });
      });

      it('appends at the exact revision and rejects a stale one without writing', async () => {
        const streamId = uniqueStream();
        await store.append(streamId, [newEvent('A')], { expectedRevision: 'no_stream' });
        const second = await store.append(streamId, [newEvent('B')], { expectedRevision: 0 });
        expect(second.nextExpectedRevision).toBe(1);
        const stale = await store.append(streamId, [newEvent('X')], { expectedRevision: 0 }).catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(WrongExpectedRevisionError);
        expect(stale).toMatchObject({ expected: 0, actual: 1 });
        const ahead = await store.append(streamId, [newEvent('X')], { expectedRevision: 5 }).catch((e: unknown) => e);
        expect(ahead).toBeInstanceOf(WrongExpectedRevisionError);
        const read = await store.readStream(streamId);
        expect(read.status === 'found' && read.events.map((e) => e.type)).toEqual(['A', 'B']);
      });

      it('an exact revision on a missing stream is a conflict with actual no_stream', async () => {
        const error = await store.append(uniqueStream(), [newEvent('A')], { expectedRevision: 0 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ actual: 'no_stream' });
      });

      it('any appends whether or not the stream exists', async () => {
        const streamId = uniqueStream();
        expect((await store.append(streamId, [newEvent('A')], { expectedRevision: 'any' })).nextExpectedRevision).toBe(0);
        expect((await store.append(streamId, [newEvent('B')], { expectedRevision: 'any' })).nextExpectedRevision).toBe(1);
      });

      it('stream_exists rejects a missing stream and accepts an existing one', async () => {
        const streamId = uniqueStream();
        const missing = await store.append(streamId, [newEvent('A')], { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
        expect(missing).toBeInstanceOf(WrongExpectedRevisionError);
        expect(missing).toMatchObject({ actual: 'no_stream' });
        await store.append(streamId, [newEvent('A')], { expectedRevision: 'no_stream' });
        expect((await store.append(streamId, [newEvent('B')], { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(1);
      });

      it('appending the same event ids again at the same expected revision is idempotent', async () => {
        const streamId = uniqueStream();
        const events = [newEvent('A', {}, { id: randomUUID() }), newEvent('B', {}, { id: randomUUID() })];
        const first = await store.append(streamId, events, { expectedRevision: 'no_stream' });
        const again = await store.append(streamId, events, { expectedRevision: 'no_stream' });
        expect(again).toEqual(first);
        const read = await store.readStream(streamId);
        expect(read.status === 'found' && read.events.length).toBe(2);
      });

      it('when 10 writers race on one revision, exactly one wins and the others get WrongExpectedRevision', async () => {
        const streamId = uniqueStream();
        await store.append(streamId, [newEvent('Created')], { expectedRevision: 'no_stream' });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => store.append(streamId, [newEvent('Raced', { i })], { expectedRevision: 0 })),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(9);
        for (const loss of lost) expect(loss.reason).toBeInstanceOf(WrongExpectedRevisionError);
        const read = await store.readStream(streamId);
        expect(read.status === 'found' && read.events.map((e) => e.revision)).toEqual([0, 1]);
      });

      it('when 10 writers race to create one stream, exactly one wins', async () => {
        const streamId = uniqueStream();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => store.append(streamId, [newEvent('Created', { i })], { expectedRevision: 'no_stream' })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedRevisionError);
      });

      it('different streams append concurrently and all succeed', async () => {
        const streams = Array.from({ length: 20 }, () => uniqueStream());
        const results = await Promise.all(streams.map((s) => store.append(s, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' })));
        expect(results.every((r) => r.nextExpectedRevision === 1)).toBe(true);
        expect(new Set(results.map((r) => r.position)).size).toBe(20);
      });
    });

    describe('bad input: a clear error and nothing written', () => {
      const rejects = async (streamId: string, events: unknown, expectedRevision: unknown, field: RegExp) => {
        const error = await store
          .append(streamId, events as NewEvent[], { expectedRevision: expectedRevision as 'any' })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidAppendError);
        expect((error as InvalidAppendError).field).toMatch(field);
        expect((await store.readStream(streamId)).status).toBe('not_found');
      };

      it('rejects an invalid expected revision', async () => {
        await rejects(uniqueStream(), [newEvent('A')], -3, /expectedRevision/);
        await rejects(uniqueStream(), [newEvent('A')], 'latest', /expectedRevision/);
        await rejects(uniqueStream(), [newEvent('A')], 1.5, /expectedRevision/);
      });

      it('rejects data that is not JSON', async () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await rejects(uniqueStream(), [newEvent('A', { n: 10n })], 'any', /data/);
        await rejects(uniqueStream(), [newEvent('A', cyclic)], 'any', /data/);
        await rejects(uniqueStream(), [newEvent('A', { f: () => 1 })], 'any', /data/);
        await rejects(uniqueStream(), [newEvent('A', { x: Number.NaN })], 'any', /data/);
        // eslint-disable-next-line no-sparse-arrays -- a hole is what is being tested
        await rejects(uniqueStream(), [newEvent('A', { tags: [, 'a'] })], 'any', /data/);
        // A cycle deep inside, and an undefined below the depth where the fast check hands over to the exact walk.
        const deepCycle: Record<string, unknown> = { a: { b: { c: {} } } };
        (deepCycle.a as { b: { c: Record<string, unknown> } }).b.c.back = deepCycle;
        await rejects(uniqueStream(), [newEvent('A', deepCycle)], 'any', /data/);
        await rejects(uniqueStream(), [newEvent('Ok'), newEvent('A', nested(100, { x: undefined }))], 'any', /events\[1\]\.data/);
      });

      it('accepts deeply nested JSON and reads it back intact', async () => {
        const streamId = uniqueStream();
        const data = nested(100, { leaf: [1, 'two', null, true] });
        await store.append(streamId, [newEvent('Deep', data)], { expectedRevision: 'no_stream' });
        const read = await store.readStream(streamId);
        expect(read.status === 'found' && read.events[0]!.data).toEqual(data);
      });

      it('rejects an event over 1 MiB, also when it is not the first in the append', async () => {
        await rejects(uniqueStream(), [newEvent('Ok'), newEvent('Huge', { blob: 'x'.repeat(1024 * 1024) })], 'any', /events\[1\]/);
      });

      it('rejects an empty append, bad stream ids, bad types and missing metadata', async () => {
        await rejects(uniqueStream(), [], 'any', /events/);
        for (const bad of ['', 'a.b', 'a b', 'a*', 'a>']) {
          const error = await store.append(bad, [newEvent('A')], { expectedRevision: 'any' }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(InvalidAppendError);
        }
        await rejects(uniqueStream(), [newEvent('has.dot')], 'any', /type/);
        await rejects(uniqueStream(), [newEvent('$system')], 'any', /type/);
        await rejects(uniqueStream(), [{ type: 'A', data: {} }], 'any', /metadata/);
        await rejects(uniqueStream(), [newEvent('A', {}, { metadata: { ...metadata(), workspaceId: '' } })], 'any', /workspaceId/);
      });
    });

    describe('readStream', () => {
      let streamId: string;
      let beforeLast: Date;
      beforeAll(async () => {
        streamId = uniqueStream();
        await store.append(streamId, [0, 1, 2, 3].map((i) => newEvent(`E${i}`, { i })), { expectedRevision: 'no_stream' });
        await new Promise((r) => setTimeout(r, 30));
        beforeLast = new Date();
        await new Promise((r) => setTimeout(r, 30));
        await store.append(streamId, [newEvent('E4', { i: 4 })], { expectedRevision: 3 });
      });

      it('returns an explicit not_found for an unknown stream', async () => {
        const id = uniqueStream();
        expect(await store.readStream(id)).toEqual({ status: 'not_found', streamId: id });
      });

      it('returns the full envelope', async () => {
        const id = uniqueStream();
        const eventId = randomUUID();
        const meta = metadata({ causationId: randomUUID(), commandId: randomUUID(), actor: 'apikey:k1', schemaVersion: 2 });
        const data = { name: 'Ünïcode ✓', nested: { list: [1, 'two', null, true] } };
        const { position } = await store.append(id, [{ id: eventId, type: 'Typed', data, metadata: meta }], { expectedRevision: 'no_stream' });
        const read = await store.readStream(id);
        if (read.status !== 'found') throw new Error('expected found');
        const [event] = read.events;
        expect(event).toMatchObject({ id: eventId, type: 'Typed', streamId: id, revision: 0, position, data, metadata: meta });
        expect(event!.recordedAt).toBeInstanceOf(Date);
        expect(Math.abs(event!.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
      });

      it('reads forwards from and to a revision', async () => {
        const read = await store.readStream(streamId, { fromRevision: 1, toRevision: 3 });
        expect(read.status === 'found' && read.events.map((e) => e.revision)).toEqual([1, 2, 3]);
      });

      it('reads backwards from a revision with a max count', async () => {
        const read = await store.readStream(streamId, { direction: 'backwards', fromRevision: 3, maxCount: 2 });
        expect(read.status === 'found' && read.events.map((e) => e.revision)).toEqual([3, 2]);
        const all = await store.readStream(streamId, { direction: 'backwards' });
        expect(all.status === 'found' && all.events.map((e) => e.revision)).toEqual([4, 3, 2, 1, 0]);
        const bounded = await store.readStream(streamId, { direction: 'backwards', toRevision: 3 });
        expect(bounded.status === 'found' && bounded.events.map((e) => e.revision)).toEqual([4, 3]);
      });

      it('reads only events recorded until an instant', async () => {
        const read = await store.readStream(streamId, { until: beforeLast });
        expect(read.status === 'found' && read.events.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
        const backwards = await store.readStream(streamId, { direction: 'backwards', until: beforeLast, maxCount: 1 });
        expect(backwards.status === 'found' && backwards.events.map((e) => e.revision)).toEqual([3]);
      });

      it('a range past the end is found but empty', async () => {
        const read = await store.readStream(streamId, { fromRevision: 50 });
        expect(read).toEqual({ status: 'found', events: [] });
      });
    });

    describe('appendMany and readStreams', () => {
      it('appends to many streams in one call, with results in input order', async () => {
        const [a, b, c] = [uniqueStream('bulk'), uniqueStream('bulk'), uniqueStream('bulk')];
        await store.append(b, [newEvent('B0')], { expectedRevision: 'no_stream' });
        const results = await store.appendMany([
          { streamId: a, events: [newEvent('A0'), newEvent('A1')], expectedRevision: 'no_stream' },
          { streamId: b, events: [newEvent('B1')], expectedRevision: 0 },
          { streamId: c, events: [newEvent('C0')], expectedRevision: 'any' },
        ]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([1, 1, 0]);
        expect(results[0]!.position < results[1]!.position && results[1]!.position < results[2]!.position).toBe(true);
        const streams = await store.readStreams([a, b, c, uniqueStream('missing')]);
        expect([...streams.keys()].sort()).toEqual([a, b, c].sort());
        expect(streams.get(a)!.map((e) => [e.type, e.revision])).toEqual([['A0', 0], ['A1', 1]]);
        expect(streams.get(b)!.map((e) => e.type)).toEqual(['B0', 'B1']);
        expect(streams.get(b)![1]!.position).toBe(results[1]!.position);
      });

      it('a conflict names its stream; PostgreSQL writes nothing, EventStoreDB reports what it wrote before', async () => {
        const [a, b] = [uniqueStream('bulk'), uniqueStream('bulk')];
        await store.append(b, [newEvent('B0')], { expectedRevision: 'no_stream' });
        const error = await store
          .appendMany([
            { streamId: a, events: [newEvent('A0')], expectedRevision: 'no_stream' },
            { streamId: b, events: [newEvent('B1')], expectedRevision: 'no_stream' },
          ])
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', retryable: true });
        if (store.kind === 'postgres') {
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: b, actual: 0 });
          expect((await store.readStream(a)).status).toBe('not_found');
        } else {
          expect(error).toBeInstanceOf(AppendManyError);
          expect(error).toMatchObject({ completed: 1, failedStreamId: b });
        }
      });

      it('mixes new and existing streams: each continues from its own revision', async () => {
        const [existing, fresh, other] = [uniqueStream('bulk'), uniqueStream('bulk'), uniqueStream('bulk')];
        await store.append(existing, [newEvent('E0'), newEvent('E1')], { expectedRevision: 'no_stream' });
        await store.append(other, [newEvent('O0')], { expectedRevision: 'no_stream' });
        const results = await store.appendMany([
          { streamId: fresh, events: [newEvent('F0'), newEvent('F1'), newEvent('F2')], expectedRevision: 'no_stream' },
          { streamId: existing, events: [newEvent('E2')], expectedRevision: 1 },
          { streamId: other, events: [newEvent('O1'), newEvent('O2')], expectedRevision: 'stream_exists' },
        ]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([2, 2, 2]);
        const streams = await store.readStreams([existing, fresh, other]);
        expect(streams.get(fresh)!.map((e) => [e.type, e.revision])).toEqual([['F0', 0], ['F1', 1], ['F2', 2]]);
        expect(streams.get(existing)!.map((e) => [e.type, e.revision])).toEqual([['E0', 0], ['E1', 1], ['E2', 2]]);
        expect(streams.get(other)!.map((e) => [e.type, e.revision])).toEqual([['O0', 0], ['O1', 1], ['O2', 2]]);
        expect((await store.readStream(fresh)).status).toBe('found');
      });

      it('one stale stream among new and existing ones: the error names it; PostgreSQL writes nothing, new streams included', async () => {
        const [newA, existingOk, stale, newB] = [uniqueStream('bulk'), uniqueStream('bulk'), uniqueStream('bulk'), uniqueStream('bulk')];
        await store.append(existingOk, [newEvent('K0')], { expectedRevision: 'no_stream' });
        await store.append(stale, [newEvent('S0'), newEvent('S1')], { expectedRevision: 'no_stream' });
        const head = await store.headPosition();
        const error = await store
          .appendMany([
            { streamId: newA, events: [newEvent('A0')], expectedRevision: 'no_stream' },
            { streamId: existingOk, events: [newEvent('K1')], expectedRevision: 0 },
            { streamId: stale, events: [newEvent('S2')], expectedRevision: 0 },
            { streamId: newB, events: [newEvent('B0')], expectedRevision: 'any' },
          ])
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', retryable: true });
        if (store.kind === 'postgres') {
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: stale, expected: 0, actual: 1 });
          expect(await store.headPosition()).toBe(head);
          for (const streamId of [newA, newB]) expect((await store.readStream(streamId)).status).toBe('not_found');
          const kept = await store.readStreams([existingOk, stale]);
          expect(kept.get(existingOk)!.map((e) => e.type)).toEqual(['K0']);
          expect(kept.get(stale)!.map((e) => e.type)).toEqual(['S0', 'S1']);
          // Nothing was half-created: the same new streams are still new for the next call.
          const retried = await store.appendMany([
            { streamId: newA, events: [newEvent('A0')], expectedRevision: 'no_stream' },
            { streamId: stale, events: [newEvent('S2')], expectedRevision: 1 },
          ]);
          expect(retried.map((r) => r.nextExpectedRevision)).toEqual([0, 2]);
        } else {
          expect(error).toBeInstanceOf(AppendManyError);
          expect(error).toMatchObject({ completed: 2, failedStreamId: stale });
        }
      });

      it('an exact revision or stream_exists on a stream that does not exist is a conflict with actual no_stream', async () => {
        for (const expectedRevision of [0, 'stream_exists'] as const) {
          const [fresh, missing] = [uniqueStream('bulk'), uniqueStream('bulk')];
          const error = await store
            .appendMany([
              { streamId: fresh, events: [newEvent('F0')], expectedRevision: 'no_stream' },
              { streamId: missing, events: [newEvent('M0')], expectedRevision },
            ])
            .catch((e: unknown) => e);
          expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION' });
          if (store.kind === 'postgres') {
            expect(error).toMatchObject({ streamId: missing, actual: 'no_stream' });
            expect((await store.readStream(fresh)).status).toBe('not_found');
          } else {
            expect(error).toMatchObject({ failedStreamId: missing });
          }
          expect((await store.readStream(missing)).status).toBe('not_found');
        }
      });

      it('rejects bad input in any part before writing anything', async () => {
        const a = uniqueStream('bulk');
        const huge = newEvent('Huge', { blob: 'x'.repeat(1024 * 1024) });
        const sharedId = randomUUID();
        for (const bad of [
          [],
          [{ streamId: a, events: [newEvent('A')], expectedRevision: 'no_stream' }, { streamId: a, events: [newEvent('A')], expectedRevision: 'any' }],
          [{ streamId: a, events: [newEvent('A')], expectedRevision: 'no_stream' }, { streamId: uniqueStream(), events: [huge], expectedRevision: 'any' }],
          [{ streamId: a, events: [newEvent('A')], expectedRevision: -1 }],
          // One event id in two streams of the same call.
          [{ streamId: a, events: [newEvent('A', {}, { id: sharedId })], expectedRevision: 'no_stream' }, { streamId: uniqueStream(), events: [newEvent('B', {}, { id: sharedId.toUpperCase() })], expectedRevision: 'no_stream' }],
        ]) {
          const error = await store.appendMany(bad as never).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(InvalidAppendError);
        }
        expect((await store.readStream(a)).status).toBe('not_found');
      });
    });

    describe('global log', () => {
      it('readAll returns events of every stream in append order, after an exclusive position, paged', async () => {
        const start = await store.headPosition();
        const a = uniqueStream('alpha');
        const b = uniqueStream('beta');
        await store.append(a, [newEvent('A1')], { expectedRevision: 'no_stream' });
        await store.append(b, [newEvent('B1'), newEvent('B2')], { expectedRevision: 'no_stream' });
        await store.append(a, [newEvent('A2')], { expectedRevision: 0 });
        const mine = (await readAllAfter(store, start)).filter((e) => e.streamId === a || e.streamId === b);
        expect(mine.map((e) => e.type)).toEqual(['A1', 'B1', 'B2', 'A2']);
        const page = await store.readAll({ after: mine[0]!.position, maxCount: 2 });
        expect(page.map((e) => e.type)).toEqual(['B1', 'B2']);
        expect(await store.headPosition()).toBe(mine[3]!.position);
      });

      it('subscribeAll catches up, then delivers live events, and stops when closed', async () => {
        const start = await store.headPosition();
        const streamId = uniqueStream('sub');
        await store.append(streamId, [newEvent('Before1'), newEvent('Before2')], { expectedRevision: 'no_stream' });
        const subscription = store.subscribeAll({ after: start });
        const seen: string[] = [];
        const done = (async () => {
          for await (const event of subscription) {
            if (event.streamId !== streamId) continue;
            seen.push(event.type);
            if (seen.length === 4) break;
          }
        })();
        await new Promise((r) => setTimeout(r, 100));
        await store.append(streamId, [newEvent('Live1')], { expectedRevision: 1 });
        await store.append(streamId, [newEvent('Live2')], { expectedRevision: 2 });
        await done;
        await subscription.close();
        expect(seen).toEqual(['Before1', 'Before2', 'Live1', 'Live2']);
      });

      it('an open subscription ends its iteration when closed', async () => {
        const subscription = store.subscribeAll({ after: await store.headPosition() });
        const iteration = (async () => {
          let count = 0;
          for await (const _ of subscription) count++;
          return count;
        })();
        await new Promise((r) => setTimeout(r, 50));
        await subscription.close();
        await expect(iteration).resolves.toBeGreaterThanOrEqual(0);
      });
    });
  });
}
