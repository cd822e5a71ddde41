/**
 * The EventStore port on EventStoreDB, through the official gRPC client (`@eventstore/db-client`).
 *
 * - Revisions: the port uses numbers, the client bigints; converted at this boundary only.
 * - Positions: ESDB's `{ commit, prepare }` packed into one bigint (see position.ts); opaque to callers.
 * - `$all` holds EventStoreDB's own system events (`$`-prefixed types and streams); readAll, subscribeAll and
 *   headPosition skip them, so callers only ever see events appended through the port.
 * - Gap safety comes from ESDB itself: `$all` only ever exposes committed events in log order.
 */
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type ReadPosition,
  type ReadRevision,
} from '@eventstore/db-client';
import { AppendManyError, EventStoreError, EventStoreUnavailableError, InvalidAppendError, WrongExpectedRevisionError } from '../errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamAppend,
  SubscribeAllOptions,
  Subscription,
} from '../port.js';
import { prepareAppend, prepareAppendMany } from '../validate.js';
import { fromEsdbCurrentRevision, isSystemRecord, toEsdbEvent, toEsdbExpectedRevision, toRecordedEvent } from './convert.js';
import { mapEsdbError } from './mapError.js';
import { packPosition, unpackPosition } from './position.js';
import { visitRead, withTimeout } from './reads.js';
import { EsdbSubscription } from './subscription.js';

export interface EsdbEventStoreOptions {
  /** e.g. `esdb://localhost:2113?tls=false` */
  readonly connectionString: string;
}

export function createEsdbEventStore({ connectionString }: EsdbEventStoreOptions): EventStore {
  return new EsdbEventStore(EventStoreDBClient.connectionString(connectionString));
}

const PING_TIMEOUT_MS = 2_000;
/** Events read per round trip when `$all` pages may be diluted by system events. */
const MIN_ALL_PAGE = 64;
const MAX_ALL_PAGE = 4_096;

class EsdbEventStore implements EventStore {
  readonly kind = 'esdb' as const;
  readonly #subscriptions = new Set<EsdbSubscription>();

  constructor(private readonly client: EventStoreDBClient) {}

  /** EventStoreDB 24 has no multi-stream transaction: validated up front, then appended in order (see the port). */
  async appendMany(appends: readonly StreamAppend[]): Promise<readonly AppendResult[]> {
    prepareAppendMany(appends);
    const results: AppendResult[] = [];
    for (const append of appends) {
      try {
        results.push(await this.append(append.streamId, append.events, { expectedRevision: append.expectedRevision }));
      } catch (error) {
        if (error instanceof EventStoreError) throw new AppendManyError(results.length, append.streamId, error);
        throw error;
      }
    }
    return results;
  }

  async readStreams(streamIds: readonly string[]): Promise<ReadonlyMap<string, readonly RecordedEvent[]>> {
    const result = new Map<string, readonly RecordedEvent[]>();
    const queue = [...streamIds];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const read = await this.readStream(id);
        if (read.status === 'found') result.set(id, read.events);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
    return result;
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, options);
    const expected = options.expectedRevision;
    const proposed = prepared.map((event, index) => toEsdbEvent(event, events[index]!));
    try {
      // ESDB is idempotent by event id: re-appending the same ids at the same expected revision succeeds
      // without writing and reports the original revision.
      const result = await this.client.appendToStream(streamId, proposed, { expectedRevision: toEsdbExpectedRevision(expected) });
      const position = result.position ? packPosition(result.position) : await this.#positionOf(streamId, result.nextExpectedRevision);
      return { nextExpectedRevision: Number(result.nextExpectedRevision), position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(streamId, expected, fromEsdbCurrentRevision(error.actualVersion));
      }
      if (error instanceof MaxAppendSizeExceededError) {
        // The port's limits are per event; EventStoreDB also caps a whole append (MaxAppendSize, 1 MiB by default).
        throw new InvalidAppendError(`The append exceeds EventStoreDB's maximum append size of ${error.maxAppendSize} bytes`, 'events');
      }
      throw mapEsdbError(error, 'append');
    }
  }

  /** Fallback when the server answers an append without a position: the stored position of that revision. */
  async #positionOf(streamId: string, revision: bigint): Promise<bigint> {
    const read = await this.readStream(streamId, { fromRevision: Number(revision), maxCount: 1 });
    const event = read.status === 'found' ? read.events[0] : undefined;
    if (event === undefined) throw new EventStoreUnavailableError(`EventStoreDB lost ${streamId}@${revision} right after appending it`);
    return event.position;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    const { fromRevision, toRevision, until } = options;
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const start: ReadRevision = fromRevision !== undefined ? BigInt(fromRevision) : forwards ? START : END;
    // Backwards with `until` must step over newer events, so only the revision range bounds that read.
    let count = forwards || until === undefined ? limit : Number.MAX_SAFE_INTEGER;
    if (toRevision !== undefined) {
      const from = fromRevision ?? (forwards ? 0 : undefined);
      if (from !== undefined) count = Math.min(count, forwards ? toRevision - from + 1 : from - toRevision + 1);
    }
    const events: RecordedEvent[] = [];
    // At least one event is always asked for: that is how a missing stream is told from an empty range.
    const read = this.client.readStream(streamId, { direction: forwards ? FORWARDS : BACKWARDS, fromRevision: start, maxCount: Math.max(1, count) });
    try {
      await visitRead(read, (resolved) => {
        if (events.length >= limit) return 'stop'; // maxCount 0: the first event only proved the stream exists
        if (resolved.event === undefined) return 'next';
        const event = toRecordedEvent(resolved.event);
        const beyondRange = toRevision !== undefined && (forwards ? event.revision > toRevision : event.revision < toRevision);
        const tooNew = until !== undefined && event.recordedAt.getTime() > until.getTime();
        if (beyondRange || (forwards && tooNew)) return 'stop';
        if (!tooNew) events.push(event);
        return events.length >= limit ? 'stop' : 'next';
      });
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { status: 'not_found', streamId };
      throw mapEsdbError(error, 'readStream');
    }
    return { status: 'found', events };
  }

  async readAll({ after, maxCount }: ReadAllOptions): Promise<readonly RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    if (maxCount <= 0) return events;
    const pageSize = Math.min(Math.max(maxCount + 1, MIN_ALL_PAGE), MAX_ALL_PAGE);
    // ESDB reads are inclusive and the port's `after` is exclusive: everything at or before `skipUpTo` is dropped.
    let skipUpTo = after ?? null;
    let from: ReadPosition = skipUpTo === null ? START : unpackPosition(skipUpTo);
    try {
      for (;;) {
        let last: bigint | null = null;
        const received = await visitRead(this.client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: pageSize }), (resolved) => {
          const record = resolved.event;
          if (record === undefined) return 'next';
          const position = packPosition(record.position);
          last = position;
          if ((skipUpTo !== null && position <= skipUpTo) || isSystemRecord(record)) return 'next';
          events.push(toRecordedEvent(record));
          return events.length >= maxCount ? 'stop' : 'next';
        });
        if (events.length >= maxCount || received < pageSize || last === null) return events;
        skipUpTo = last;
        from = unpackPosition(last);
      }
    } catch (error) {
      throw mapEsdbError(error, 'readAll');
    }
  }

  subscribeAll(options: SubscribeAllOptions = {}): Subscription {
    const after = options.after ?? null;
    // ESDB subscription starts are exclusive, like the port's `after`.
    const source = this.client.subscribeToAll({ fromPosition: after === null ? START : unpackPosition(after) });
    const subscription = new EsdbSubscription(source, after, (closed) => this.#subscriptions.delete(closed));
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<bigint | null> {
    return this.#newestPosition().catch((error: unknown) => {
      throw mapEsdbError(error, 'headPosition');
    });
  }

  /** Reads `$all` backwards past any system events to the newest event appended through the port. */
  async #newestPosition(): Promise<bigint | null> {
    const pageSize = MIN_ALL_PAGE;
    let from: ReadPosition = END;
    let skipFrom: bigint | null = null;
    for (;;) {
      let last: bigint | null = null;
      let found: bigint | null = null;
      const received = await visitRead(this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: pageSize }), (resolved: AllStreamResolvedEvent) => {
        const record = resolved.event;
        if (record === undefined) return 'next';
        const position = packPosition(record.position);
        last = position;
        if ((skipFrom !== null && position >= skipFrom) || isSystemRecord(record)) return 'next';
        found = position;
        return 'stop';
      });
      if (found !== null) return found;
      if (received < pageSize || last === null) return null;
      skipFrom = last;
      from = unpackPosition(last);
    }
  }

  async ping(): Promise<void> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    try {
      // Client reads have no deadline of their own, so a black-holed server is cut off here.
      await withTimeout(
        visitRead(read, () => 'next'),
        PING_TIMEOUT_MS,
        () => new EventStoreUnavailableError(`EventStoreDB did not answer a ping within ${PING_TIMEOUT_MS} ms`),
      );
    } catch (error) {
      void read.cancel().catch(() => {});
      // Whatever the reason (unreachable, refused, access denied), the store is not ready for traffic.
      const mapped = mapEsdbError(error, 'ping');
      throw mapped instanceof EventStoreError ? mapped : new EventStoreUnavailableError(`EventStoreDB ping failed: ${String(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }
}
