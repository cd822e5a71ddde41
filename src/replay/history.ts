import type { EventMetadata, RecordedEvent } from '../eventstore/port.js';
import { diffStates, type FieldChange } from './diff.js';
import type { TemporalKind } from './kinds.js';
import { foldAsOf, type TemporalDeps } from './temporal.js';

/** One event of a stream as an auditor reads it: who, which request, when, and what it changed in the folded state. */
export interface HistoryEntry {
  readonly event: RecordedEvent;
  readonly metadata: EventMetadata;
  readonly changes: readonly FieldChange[];
}

export interface HistoryPage {
  readonly entries: readonly HistoryEntry[];
  readonly hasNextPage: boolean;
}

export type HistoryResult = { readonly status: 'unknown' } | ({ readonly status: 'found' } & HistoryPage);

/**
 * The stream's events after `afterRevision` (exclusive; -1 or absent: from the start), at most `first`, each with
 * the diff of the folded state before → after it. The state before the page comes from a temporal fold (so a page
 * deep into a long stream starts from a snapshot).
 */
export async function streamHistory<State>(deps: TemporalDeps, kind: TemporalKind<State>, id: string, workspaceId: string, page: { afterRevision?: number; first: number }): Promise<HistoryResult> {
  const after = page.afterRevision ?? -1;
  let state = kind.initial();
  if (after >= 0) {
    const start = await foldAsOf(deps, kind, id, workspaceId, { revision: after });
    if (start.status === 'unknown') return { status: 'unknown' };
    if (start.status === 'no_such_revision') return { status: 'found', entries: [], hasNextPage: false };
    if (start.status === 'found') state = start.state;
  }
  const read = await deps.eventStore.readStream(kind.streamId(id), { fromRevision: after + 1, maxCount: page.first + 1 });
  if (read.status === 'not_found') return { status: 'unknown' };
  if (after < 0 && read.events[0] !== undefined && read.events[0].metadata.workspaceId !== workspaceId) return { status: 'unknown' };
  if (after < 0 && read.events.length === 0) return { status: 'unknown' };
  const entries: HistoryEntry[] = [];
  for (const event of read.events.slice(0, page.first)) {
    const next = kind.evolve(state, event);
    entries.push({ event, metadata: event.metadata, changes: diffStates(state, next) });
    state = next;
  }
  return { status: 'found', entries, hasNextPage: read.events.length > page.first };
}
