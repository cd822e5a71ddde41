import { EventStoreUnavailableError } from './errors.js';
import { forwardingTo, type AppendOptions, type AppendResult, type EventStore, type NewEvent, type ReadStreamOptions, type ReadStreamResult, type RecordedEvent, type StreamAppend } from './port.js';
import { MAX_EVENTS_PER_APPEND } from './validate.js';

/**
 * Group commit for the PostgreSQL store: single `append`s and whole-stream `readStream`s that arrive while an
 * earlier one is still at the database are sent together, as one `appendMany` / one `readStreams`.
 *
 * Why: every command makes one read and one append. In PostgreSQL each append is a transaction whose commit
 * waits for the WAL flush while it holds the global append lock (dense, gap-free positions), so concurrent
 * appends queue on that lock one fsync at a time, and every statement costs a backend wake-up on two shared
 * cores. Coalescing turns N commits into one. When idle nothing waits: the first call goes out at once, alone,
 * through the plain `append` / `readStream`; only calls arriving meanwhile are grouped.
 *
 * Semantics stay those of each single call:
 * - A group holds each stream at most once (a second append to a stream waits for the next group), so every
 *   append keeps its own expected-revision check against the state the previous group left.
 * - PostgreSQL's `appendMany` is atomic. If it fails (one conflict, an already-stored event id, bad input),
 *   nothing was written and every append of the group is retried alone, so each gets exactly the result or
 *   error it would have had alone (including the idempotent re-append of stored event ids); a conflicting
 *   append never fails the others. Only an unreachable store fails the whole group (alone it would fail too).
 * - Positions stay dense and gap-free: they are allocated by the same store functions under the same lock.
 * - A read starts after it was called, so it sees every append that completed before the call.
 * Everything else (`appendMany`, ranged reads, `readAll`, subscriptions) passes straight through.
 */
export function withGroupCommit(store: EventStore): EventStore {
  // Falling back to single appends is only exact where appendMany is atomic (EventStoreDB's is not).
  if (store.kind !== 'postgres') throw new Error(`group commit needs an atomic appendMany; the ${store.kind} store has none`);
  const appends = new Coalescer<PendingAppend>(takeAppends, (group) => flushAppends(store, group));
  const reads = new Coalescer<PendingRead>(takeReads, (group) => flushReads(store, group));
  return {
    ...forwardingTo(store),
    append: (streamId: string, events: readonly NewEvent[], options: AppendOptions) =>
      new Promise<AppendResult>((resolve, reject) => appends.add({ streamId, events, expectedRevision: options?.expectedRevision, resolve, reject })),
    readStream: (streamId: string, options?: ReadStreamOptions) =>
      options === undefined ? new Promise<ReadStreamResult>((resolve, reject) => reads.add({ streamId, resolve, reject })) : store.readStream(streamId, options),
  };
}

interface Settles<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}
interface PendingAppend extends StreamAppend, Settles<AppendResult> {}
interface PendingRead extends Settles<ReadStreamResult> {
  readonly streamId: string;
}

/** At most this many calls in one group: bounds the statement size and the wait of the first in the group. */
const MAX_GROUP = 500;

/** One group at the database at a time; what arrives meanwhile forms the next group. */
class Coalescer<T extends Settles<never>> {
  private queue: T[] = [];
  private draining = false;

  constructor(
    private readonly take: (queue: T[]) => T[],
    private readonly flush: (group: T[]) => Promise<void>,
  ) {}

  add(item: T): void {
    this.queue.push(item);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const group = this.take(this.queue);
        // flush settles every call itself; this only guards against a group left unsettled by a bug.
        await this.flush(group).catch((error: unknown) => group.forEach((item) => item.reject(error)));
      }
    } finally {
      this.draining = false;
    }
  }
}

/** Removes the next group from the queue: oldest first, one append per stream, within appendMany's limit. */
function takeAppends(queue: PendingAppend[]): PendingAppend[] {
  const group: PendingAppend[] = [];
  const rest: PendingAppend[] = [];
  const streams = new Set<string>();
  let events = 0;
  for (const item of queue) {
    const size = Array.isArray(item.events) ? item.events.length : 0;
    const fits = group.length === 0 || (group.length < MAX_GROUP && !streams.has(item.streamId) && events + size <= MAX_EVENTS_PER_APPEND);
    if (fits) {
      group.push(item);
      streams.add(item.streamId);
      events += size;
    } else rest.push(item);
  }
  queue.splice(0, queue.length, ...rest);
  return group;
}

function takeReads(queue: PendingRead[]): PendingRead[] {
  return queue.splice(0, MAX_GROUP);
}

async function flushAppends(store: EventStore, group: readonly PendingAppend[]): Promise<void> {
  if (group.length > 1) {
    try {
      const results = await store.appendMany(group.map(({ streamId, events, expectedRevision }) => ({ streamId, events, expectedRevision })));
      group.forEach((item, index) => item.resolve(results[index]!));
      return;
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) {
        for (const item of group) item.reject(error);
        return;
      }
      // Nothing was written (appendMany is atomic here): each append alone gets its own result or error.
    }
  }
  await Promise.all(group.map((item) => store.append(item.streamId, item.events, { expectedRevision: item.expectedRevision }).then(item.resolve, item.reject)));
}

async function flushReads(store: EventStore, group: readonly PendingRead[]): Promise<void> {
  if (group.length > 1) {
    let streams: ReadonlyMap<string, readonly RecordedEvent[]> | null = null;
    try {
      streams = await store.readStreams([...new Set(group.map((item) => item.streamId))]);
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) {
        for (const item of group) item.reject(error);
        return;
      }
      // An invalid stream id among them: each read alone gets its own error.
    }
    if (streams !== null) {
      // A stream exists exactly when it has events (the store deletes none), so absence is readStream's not_found.
      for (const item of group) {
        const events = streams.get(item.streamId);
        item.resolve(events === undefined ? { status: 'not_found', streamId: item.streamId } : { status: 'found', events });
      }
      return;
    }
  }
  await Promise.all(group.map((item) => store.readStream(item.streamId).then(item.resolve, item.reject)));
}
