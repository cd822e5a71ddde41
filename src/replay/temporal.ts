import type { Kysely } from 'kysely';
import type { EventStore, ReadStreamResult, RecordedEvent } from '../eventstore/port.js';
import type { Logger } from '../infra/logger.js';
import type { Database } from '../projections/db/schema.js';
import type { TemporalKind } from './kinds.js';

/** Where to stop folding: at an instant (events recorded at or before it), at a revision (inclusive), or both. */
export interface TemporalTarget {
  readonly asOf?: Date;
  readonly revision?: number;
}

export type TemporalFold<State> =
  /** No such stream in this workspace (never existed, or another workspace's). */
  | { readonly status: 'unknown' }
  /** The stream exists, but its first event was recorded after asOf. */
  | { readonly status: 'not_yet'; readonly createdAt: Date }
  /** The revision asked for is beyond the stream's last one. */
  | { readonly status: 'no_such_revision'; readonly lastRevision: number }
  | {
      readonly status: 'found';
      readonly state: State;
      /** The last revision folded, its position and time. */
      readonly revision: number;
      readonly position: bigint;
      readonly recordedAt: Date;
      /** Events read and folded after the snapshot (all of them without one). */
      readonly eventsFolded: number;
      /** The snapshot the fold started from; null: from the stream's first event. */
      readonly snapshotRevision: number | null;
    };

export interface TemporalDeps {
  /** Always the EventStore the process was given (decrypting / upcasting wrappers included), never raw SQL. */
  readonly eventStore: EventStore;
  readonly db: Kysely<Database>;
  /** Snapshot every this many events (default 100); false: neither read nor write snapshots (the baseline). */
  readonly snapshotEvery?: number | false;
  readonly logger?: Logger;
}

export const DEFAULT_SNAPSHOT_EVERY = 100;

interface Snapshot<State> {
  readonly revision: number;
  readonly position: bigint;
  readonly recordedAt: Date;
  readonly state: State;
}

/**
 * Folds one aggregate's stream up to the target with the kind's evolve. Snapshots (temporal_snapshots) keep long
 * streams cheap: the fold starts from the newest snapshot at or before the target, and every `snapshotEvery`-th
 * revision it passes is stored for the next fold (derived data: deleting the rows only costs speed).
 */
export async function foldAsOf<State>(deps: TemporalDeps, kind: TemporalKind<State>, id: string, workspaceId: string, target: TemporalTarget): Promise<TemporalFold<State>> {
  const streamId = kind.streamId(id);
  const every = deps.snapshotEvery === undefined ? DEFAULT_SNAPSHOT_EVERY : deps.snapshotEvery;
  const version = every === false ? null : kind.snapshotVersion;
  const snapshot = version === null ? null : await latestSnapshot<State>(deps.db, streamId, version, workspaceId, target);
  if (snapshot === 'other_workspace') return { status: 'unknown' };

  const read = await readStreamAsOf(deps.eventStore, streamId, { fromRevision: snapshot === null ? 0 : snapshot.revision + 1, ...target });
  if (read.status === 'not_found') return { status: 'unknown' };
  const events = read.events;
  if (snapshot === null) {
    const first = events[0] ?? (await firstEvent(deps.eventStore, streamId));
    if (first === undefined || first.metadata.workspaceId !== workspaceId) return { status: 'unknown' };
    if (events.length === 0) return { status: 'not_yet', createdAt: first.recordedAt };
  }

  let state = snapshot === null ? kind.initial() : snapshot.state;
  let last: Pick<RecordedEvent, 'revision' | 'position' | 'recordedAt'> | null = snapshot;
  const toStore: Snapshot<State>[] = [];
  for (const event of events) {
    state = kind.evolve(state, event);
    last = event;
    if (version !== null && every !== false && (event.revision + 1) % every === 0) toStore.push({ revision: event.revision, position: event.position, recordedAt: event.recordedAt, state });
  }
  if (last === null) return { status: 'unknown' }; // unreachable: no snapshot means at least one event here
  if (target.revision !== undefined && last.revision < target.revision) return { status: 'no_such_revision', lastRevision: await lastRevisionOf(deps.eventStore, streamId, last.revision) };
  if (!kind.exists(state)) return { status: 'not_yet', createdAt: (await firstEvent(deps.eventStore, streamId))?.recordedAt ?? last.recordedAt };
  if (version !== null && toStore.length > 0) await storeSnapshots(deps, streamId, version, workspaceId, toStore);
  return { status: 'found', state, revision: last.revision, position: last.position, recordedAt: last.recordedAt, eventsFolded: events.length, snapshotRevision: snapshot?.revision ?? null };
}

/**
 * Reads a stream up to an instant at the precision clients see (milliseconds: every time the API returns is
 * one): an event recorded at 12:00:00.123456 belongs to "as of 12:00:00.123". The store's `until` compares at
 * its own precision (PostgreSQL: microseconds), so the read goes one millisecond further and the events of the
 * next millisecond are dropped here.
 */
export async function readStreamAsOf(store: EventStore, streamId: string, range: TemporalTarget & { fromRevision?: number }): Promise<ReadStreamResult> {
  const read = await store.readStream(streamId, {
    ...(range.fromRevision === undefined ? {} : { fromRevision: range.fromRevision }),
    ...(range.revision === undefined ? {} : { toRevision: range.revision }),
    ...(range.asOf === undefined ? {} : { until: endOfMillisecond(range.asOf) }),
  });
  if (read.status === 'not_found' || range.asOf === undefined) return read;
  const limit = range.asOf.getTime();
  return { status: 'found', events: read.events.filter((e) => e.recordedAt.getTime() <= limit) };
}

const endOfMillisecond = (at: Date): Date => new Date(at.getTime() + 1);

async function firstEvent(store: EventStore, streamId: string): Promise<RecordedEvent | undefined> {
  const read = await store.readStream(streamId, { maxCount: 1 });
  return read.status === 'found' ? read.events[0] : undefined;
}

/** The stream's real last revision, for the error message (the capped read only shows the bound). */
async function lastRevisionOf(store: EventStore, streamId: string, fallback: number): Promise<number> {
  const read = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
  return read.status === 'found' ? (read.events[0]?.revision ?? fallback) : fallback;
}

async function latestSnapshot<State>(db: Kysely<Database>, streamId: string, version: string, workspaceId: string, target: TemporalTarget): Promise<Snapshot<State> | 'other_workspace' | null> {
  let query = db
    .selectFrom('temporal_snapshots')
    .select(['revision', 'position', 'recorded_at', 'workspace_id', 'state'])
    .where('stream_id', '=', streamId)
    .where('fold_version', '=', version);
  if (target.revision !== undefined) query = query.where('revision', '<=', target.revision);
  if (target.asOf !== undefined) query = query.where('recorded_at', '<', endOfMillisecond(target.asOf));
  const row = await query.orderBy('revision', 'desc').limit(1).executeTakeFirst();
  if (row === undefined) return null;
  if (row.workspace_id !== workspaceId) return 'other_workspace';
  return { revision: row.revision, position: BigInt(row.position), recordedAt: row.recorded_at, state: row.state as State };
}

async function storeSnapshots<State>(deps: TemporalDeps, streamId: string, version: string, workspaceId: string, snapshots: readonly Snapshot<State>[]): Promise<void> {
  try {
    await deps.db
      .insertInto('temporal_snapshots')
      .values(snapshots.map((s) => ({ stream_id: streamId, fold_version: version, revision: s.revision, workspace_id: workspaceId, position: s.position, recorded_at: s.recordedAt, state: JSON.stringify(s.state) })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  } catch (error) {
    // A snapshot is an optimisation: the answer is already folded, the next fold will try again.
    deps.logger?.warn({ err: error, streamId }, 'could not store temporal snapshots');
  }
}
