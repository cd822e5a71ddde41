import { toWire } from '../eventstore/envelope.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';

/**
 * NDJSON export of the event log for auditors: one stream, or every event of one workspace, optionally between
 * two instants or positions (both inclusive), one envelope per line in the NATS wire form (toWire). Events are
 * read through the EventStore the caller gives (so erased personal data comes out erased, upcast to today's
 * schema), page by page: memory stays constant however long the log.
 */

export type ExportTarget = { readonly kind: 'stream'; readonly streamId: string } | { readonly kind: 'workspace'; readonly workspaceId: string };

/** An inclusive bound: an instant (recordedAt, millisecond precision) or a global position. */
export type ExportBound = { readonly kind: 'time'; readonly at: Date } | { readonly kind: 'position'; readonly position: bigint };

export interface ExportRequest {
  readonly target: ExportTarget;
  readonly from?: ExportBound;
  readonly until?: ExportBound;
}

/** Bad input (unknown stream or workspace, a range that ends before it starts): nothing is written. */
export class ExportInputError extends Error {
  override readonly name = 'ExportInputError';
}

export interface ExportProgress {
  /** total: how many units `update` counts to (null: unknown). */
  start(total: number | null): void;
  update(done: number, exported: number): void;
  stop(): void;
}

export interface ExportDeps {
  readonly store: EventStore;
  readonly workspaceExists: (id: string) => Promise<boolean>;
  readonly pageSize?: number;
}

/** A checked export, ready to run: every input error has been raised by now. */
export interface PreparedExport {
  readonly request: ExportRequest;
  run(write: (line: string) => Promise<void>, progress?: ExportProgress): Promise<{ readonly exported: number }>;
}

export function parseBound(value: string, name: string): ExportBound {
  if (/^\d+$/.test(value)) return { kind: 'position', position: BigInt(value) };
  const at = /^\d{4}-\d{2}-\d{2}(T.+)?$/.test(value) ? new Date(/T/.test(value) ? value : `${value}T00:00:00Z`) : undefined;
  if (at === undefined || Number.isNaN(at.getTime()) || (/T/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value))) {
    throw new ExportInputError(`${name} must be a global position (digits) or an ISO 8601 instant with an offset (2026-11-24T12:00:00Z) or a date (2026-11-24, midnight UTC), got ${JSON.stringify(value)}`);
  }
  return { kind: 'time', at };
}

const describe = (bound: ExportBound): string => (bound.kind === 'time' ? bound.at.toISOString() : `position ${bound.position}`);

function inRange(event: RecordedEvent, request: ExportRequest): boolean {
  const { from, until } = request;
  if (from !== undefined && (from.kind === 'time' ? event.recordedAt.getTime() < from.at.getTime() : event.position < from.position)) return false;
  if (until !== undefined && (until.kind === 'time' ? event.recordedAt.getTime() > until.at.getTime() : event.position > until.position)) return false;
  return true;
}

/** Checks the request against the store (stream or workspace exists, range is not reversed) without writing. */
export async function prepareExport(deps: ExportDeps, request: ExportRequest): Promise<PreparedExport> {
  const { from, until } = request;
  if (from !== undefined && until !== undefined && from.kind === until.kind) {
    const reversed = from.kind === 'time' ? from.at.getTime() > (until as { at: Date }).at.getTime() : from.position > (until as { position: bigint }).position;
    if (reversed) throw new ExportInputError(`The range ends (${describe(until)}) before it starts (${describe(from)}).`);
  }
  const pageSize = deps.pageSize ?? 1_000;
  const { target } = request;
  if (target.kind === 'stream') {
    const last = await deps.store.readStream(target.streamId, { direction: 'backwards', maxCount: 1 });
    if (last.status === 'not_found') throw new ExportInputError(`There is no stream ${target.streamId}.`);
    const total = (last.events[0]?.revision ?? -1) + 1;
    return { request, run: (write, progress) => exportStream(deps.store, request, target.streamId, total, pageSize, write, progress) };
  }
  if (!(await deps.workspaceExists(target.workspaceId))) throw new ExportInputError(`There is no workspace ${target.workspaceId}.`);
  return { request, run: (write, progress) => exportWorkspace(deps.store, request, target.workspaceId, pageSize, write, progress) };
}

async function exportStream(store: EventStore, request: ExportRequest, streamId: string, total: number, pageSize: number, write: (line: string) => Promise<void>, progress?: ExportProgress) {
  progress?.start(total);
  let exported = 0;
  let next = 0;
  try {
    for (;;) {
      const read = await store.readStream(streamId, { fromRevision: next, maxCount: pageSize });
      const events = read.status === 'found' ? read.events : [];
      for (const event of events) {
        if (!inRange(event, request)) continue;
        await write(`${JSON.stringify(toWire(event))}\n`);
        exported++;
      }
      if (events.length < pageSize) break;
      next = events.at(-1)!.revision + 1;
      progress?.update(next, exported);
    }
    progress?.update(total, exported);
  } finally {
    progress?.stop();
  }
  return { exported };
}

/**
 * The whole global log up to the head it had when the export started (a consistent cut: events appended during
 * the export are not part of it), keeping the workspace's events. Positions are opaque, but they are ordered
 * integers, so "from position p inclusive" is "after p − 1".
 */
async function exportWorkspace(store: EventStore, request: ExportRequest, workspaceId: string, pageSize: number, write: (line: string) => Promise<void>, progress?: ExportProgress) {
  const head = await store.headPosition();
  let after: bigint | null = request.from?.kind === 'position' && request.from.position > 0n ? request.from.position - 1n : null;
  const start = after ?? 0n;
  // PostgreSQL positions are dense, so the distance to the head is a count; EventStoreDB's are not.
  const countable = store.kind === 'postgres' && head !== null;
  progress?.start(countable ? Number(head - start) : null);
  let exported = 0;
  let scanned = 0;
  try {
    while (head !== null && (after === null || after < head)) {
      const events = await store.readAll({ after, maxCount: pageSize });
      if (events.length === 0) break;
      for (const event of events) {
        if (event.position > head) break;
        scanned++;
        if (event.metadata.workspaceId !== workspaceId || !inRange(event, request)) continue;
        await write(`${JSON.stringify(toWire(event))}\n`);
        exported++;
      }
      after = events.at(-1)!.position;
      if (request.until?.kind === 'position' && after >= request.until.position) break;
      progress?.update(countable ? Number(after - start) : scanned, exported);
    }
  } finally {
    progress?.stop();
  }
  return { exported };
}
