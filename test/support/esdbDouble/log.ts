/**
 * TEST DOUBLE storage: the in-memory transaction log behind the EventStoreDB gRPC double (see server.ts).
 * It knows nothing about gRPC; it models the EventStoreDB semantics the adapter relies on.
 */
import { randomUUID } from 'node:crypto';

export interface LogPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export interface ProposedEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

export interface StoredEvent extends ProposedEvent, LogPosition {
  readonly streamName: string;
  readonly revision: bigint;
  /** 100-nanosecond ticks since the UNIX epoch, as EventStoreDB reports `created`. */
  readonly created: bigint;
}

export type ExpectedRevision =
  | { readonly kind: 'any' }
  | { readonly kind: 'no_stream' }
  | { readonly kind: 'stream_exists' }
  | { readonly kind: 'revision'; readonly revision: bigint };

export type AppendOutcome =
  | { readonly kind: 'success'; readonly currentRevision: bigint; readonly position: LogPosition }
  /** `current` is null when the stream does not exist. */
  | { readonly kind: 'wrong_expected_version'; readonly current: bigint | null };

/** A few records of EventStoreDB's own, so that clients must filter `$all` as they would against a real server. */
const SYSTEM_EVENT_EVERY_N_APPENDS = 3;
const encoder = new TextEncoder();

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
}

export class InMemoryLog {
  /** `$all`, in log order. */
  readonly #all: StoredEvent[] = [];
  readonly #streams = new Map<string, StoredEvent[]>();
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  /** Byte offset of the next record in the imaginary transaction file. */
  #offset = 4_096n;
  #appends = 0;

  constructor() {
    this.#write('$settings', [systemEvent('$settings', { $userStreamAcl: { $r: '$all' } })]);
    this.#write('$$$scavenges', [systemEvent('$metadata', { $maxAge: 2_592_000 })]);
  }

  stream(streamName: string): readonly StoredEvent[] | undefined {
    return this.#streams.get(streamName);
  }

  /** Inclusive start, like EventStoreDB's reads. */
  readAllForwards(from: LogPosition | 'start' | 'end', count: bigint): StoredEvent[] {
    if (from === 'end') return [];
    const start = from === 'start' ? 0 : this.#all.findIndex((e) => comparePositions(e, from) >= 0);
    return start === -1 ? [] : take(this.#all.slice(start), count);
  }

  /** From the end, or from the last event strictly before `from`. */
  readAllBackwards(from: LogPosition | 'start' | 'end', count: bigint): StoredEvent[] {
    if (from === 'start') return [];
    const before = from === 'end' ? this.#all : this.#all.filter((e) => comparePositions(e, from) < 0);
    return take([...before].reverse(), count);
  }

  /** Exclusive start, like EventStoreDB's subscriptions. */
  allAfter(after: LogPosition | 'start' | 'end'): StoredEvent[] {
    if (after === 'end') return [];
    if (after === 'start') return [...this.#all];
    return this.#all.filter((e) => comparePositions(e, after) > 0);
  }

  /** Returns a function that removes the listener. */
  onAppended(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * EventStoreDB's optimistic concurrency, including its idempotency by event id: proposing again the events
   * that already follow the expected revision (or, for `any` / `stream_exists`, events already in the stream)
   * succeeds without writing and reports the revision and position of the original write. A partial match is a
   * conflict, as in EventStoreDB.
   */
  append(streamName: string, expected: ExpectedRevision, proposed: readonly ProposedEvent[]): AppendOutcome {
    const existing = this.#streams.get(streamName) ?? [];
    const current = existing.length === 0 ? null : BigInt(existing.length - 1);
    const conflict: AppendOutcome = { kind: 'wrong_expected_version', current };

    if (expected.kind === 'stream_exists' && current === null) return conflict;
    if (expected.kind === 'no_stream' || expected.kind === 'revision') {
      const after = expected.kind === 'no_stream' ? -1 : Number(expected.revision);
      if (after === (current === null ? -1 : Number(current))) return this.#write(streamName, proposed);
      const replay = matchAt(existing, after + 1, proposed);
      return replay === 'all' ? idempotent(existing, after + proposed.length) : conflict;
    }
    const first = existing.findIndex((e) => e.id === proposed[0]!.id);
    if (first === -1) return this.#write(streamName, proposed);
    return matchAt(existing, first, proposed) === 'all' ? idempotent(existing, first + proposed.length - 1) : conflict;
  }

  #write(streamName: string, proposed: readonly ProposedEvent[]): AppendOutcome {
    const events = this.#streams.get(streamName) ?? [];
    this.#streams.set(streamName, events);
    const created = BigInt(Date.now()) * 10_000n;
    // Every event gets its own prepare record; one commit record follows them, so all events of a write share
    // a commit position that differs from each prepare position (as with EventStoreDB's explicit transactions).
    const prepares = proposed.map((event) => {
      const prepare = this.#offset;
      this.#offset += 128n + BigInt(event.data.length + event.customMetadata.length + event.type.length);
      return prepare;
    });
    const commit = this.#offset;
    this.#offset += 64n;
    const stored = proposed.map(
      (event, i): StoredEvent => ({ ...event, streamName, revision: BigInt(events.length + i), commit, prepare: prepares[i]!, created }),
    );
    events.push(...stored);
    this.#all.push(...stored);
    for (const event of stored) for (const listener of this.#listeners) listener(event);
    const last = stored[stored.length - 1]!;
    if (!streamName.startsWith('$') && ++this.#appends % SYSTEM_EVENT_EVERY_N_APPENDS === 0) {
      this.#write('$stats-127.0.0.1:2113', [systemEvent('$statsCollected', { appends: this.#appends })]);
    }
    return { kind: 'success', currentRevision: last.revision, position: { commit: last.commit, prepare: last.prepare } };
  }
}

function matchAt(existing: readonly StoredEvent[], start: number, proposed: readonly ProposedEvent[]): 'all' | 'not_all' {
  const stored = existing.slice(start, start + proposed.length);
  const all = stored.length === proposed.length && stored.every((event, i) => event.id === proposed[i]!.id);
  return all ? 'all' : 'not_all';
}

function idempotent(existing: readonly StoredEvent[], lastIndex: number): AppendOutcome {
  const last = existing[lastIndex]!;
  return { kind: 'success', currentRevision: last.revision, position: { commit: last.commit, prepare: last.prepare } };
}

function take(events: StoredEvent[], count: bigint): StoredEvent[] {
  return count >= BigInt(events.length) ? events : events.slice(0, Number(count));
}

function systemEvent(type: string, data: unknown): ProposedEvent {
  return {
    id: randomUUID(),
    type,
    contentType: 'application/json',
    data: encoder.encode(JSON.stringify(data)),
    customMetadata: new Uint8Array(),
  };
}
