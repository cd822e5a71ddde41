import { EventStoreUnavailableError } from '../eventstore/errors.js';
import { forwardingTo, type EventStore, type NewEvent, type RecordedEvent, type StreamAppend, type Subscription } from '../eventstore/port.js';
import { isConnectionError } from '../infra/postgres.js';
import { upcastRecorded } from '../eventstore/upcasting.js';
import type { ContactKeyStore } from './keyStore.js';
import { openEvent, ownersToOpen, ownersToSeal, sealEvent } from './sealing.js';

/**
 * The event store every part of the engine uses (openEventStore applies it): the same port, with
 * - personal data sealed on append under its contact's key (created on first use; one key-store statement per
 *   append or appendMany, whatever the number of contacts),
 * - on every read (readStream, readStreams, readAll, subscribeAll) personal data opened — or, for an erased
 *   contact, replaced by erased markers — and every event upcast to today's schema version.
 * So the relay publishes, and every reader sees, current and readable events; the log itself holds ciphertext.
 */
export function protectEventStore(store: EventStore, keys: ContactKeyStore): EventStore {
  const open = async (events: readonly RecordedEvent[]): Promise<RecordedEvent[]> => {
    const owners = ownersToOpen(events);
    const found = owners.size === 0 ? new Map() : await unavailableOnConnectionError(() => keys.lookup([...owners]));
    return events.map((event) => upcastRecorded(openEvent(event, found)));
  };
  const seal = async (appends: readonly { streamId: string; events: readonly NewEvent[] }[]) => {
    const owners = appends.flatMap((a) => ownersToSeal(a.streamId, a.events));
    const found = owners.length === 0 ? new Map() : await unavailableOnConnectionError(() => keys.ensure(owners));
    return appends.map((a) => a.events.map((event) => sealEvent(a.streamId, event, found)));
  };

  return {
    ...forwardingTo(store),
    async append(streamId, events, options) {
      const [sealed] = await seal([{ streamId, events }]);
      return store.append(streamId, sealed!, options);
    },
    async appendMany(appends) {
      const sealed = await seal(appends);
      return store.appendMany(appends.map((a, i): StreamAppend => ({ ...a, events: sealed[i]! })));
    },
    async readStream(streamId, options) {
      const result = await store.readStream(streamId, options);
      return result.status === 'found' ? { status: 'found', events: await open(result.events) } : result;
    },
    async readStreams(streamIds) {
      const streams = await store.readStreams(streamIds);
      const opened = await open([...streams.values()].flat());
      const out = new Map<string, readonly RecordedEvent[]>();
      let offset = 0;
      for (const [streamId, events] of streams) {
        out.set(streamId, opened.slice(offset, offset + events.length));
        offset += events.length;
      }
      return out;
    },
    readAll: async (options) => open(await store.readAll(options)),
    subscribeAll: (options) => openedSubscription(store.subscribeAll(options), open),
  };
}

/**
 * The key store is a database too: while it is unreachable (PostgreSQL restarting) a read or append fails as the
 * store's own would, with the retryable EVENT_STORE_UNAVAILABLE, not as an internal error. Found by
 * test/faults/postgresRestart.faults.ts.
 */
async function unavailableOnConnectionError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isConnectionError(error)) throw new EventStoreUnavailableError(`contact key store unavailable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    throw error;
  }
}

/** At most this many events are opened together (one key lookup) when a subscription delivers a burst. */
const BURST = 500;

/**
 * A subscription whose events are opened in bursts: whatever the inner subscription has ready right away is
 * taken together (one key lookup for a page of a catch-up, one per event when live and idle), in order.
 */
function openedSubscription(inner: Subscription, open: (events: readonly RecordedEvent[]) => Promise<RecordedEvent[]>): Subscription {
  return {
    close: () => inner.close(),
    async *[Symbol.asyncIterator]() {
      const iterator = inner[Symbol.asyncIterator]();
      let next = iterator.next();
      for (;;) {
        const first = await next;
        if (first.done === true) return;
        const burst = [first.value];
        next = iterator.next();
        let ended = false;
        while (burst.length < BURST) {
          const more = await readyNow(next);
          if (more === null) break;
          if (more.done === true) {
            ended = true;
            break;
          }
          burst.push(more.value);
          next = iterator.next();
        }
        yield* await open(burst);
        if (ended) return;
      }
    },
  };
}

/** The iterator's next result if it is already available (settles within this turn of the event loop), else null. */
function readyNow<T>(next: Promise<IteratorResult<T>>): Promise<IteratorResult<T> | null> {
  return Promise.race([next, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
}
