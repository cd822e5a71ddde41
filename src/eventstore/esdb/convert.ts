import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  type AppendExpectedRevision,
  type CurrentRevision,
  type JSONEventData,
  type JSONType,
  type Position,
} from '@eventstore/db-client';
import type { PreparedEvent } from '../validate.js';
import type { EventMetadata, ExpectedRevision, NewEvent, RecordedEvent } from '../port.js';
import { packPosition } from './position.js';

/** The shape shared by events read from a stream and from `$all` (the client types differ only in `position`). */
export interface EsdbRecord {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly created: Date;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: Position;
}

export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

export function fromEsdbCurrentRevision(current: CurrentRevision): number | 'no_stream' {
  return current === NO_STREAM ? 'no_stream' : Number(current);
}

const encoder = new TextEncoder();

/**
 * A JSON event for the client. The client serializes `data` itself with JSON.stringify; `prepareAppend` has
 * already proven that the original value round-trips, so it yields exactly `prepared.dataJson`. Metadata goes as
 * the bytes of `prepared.metadataJson` (the client passes a plain Uint8Array through untouched; a Buffer would be
 * JSON-encoded as `{"type":"Buffer",...}`).
 */
export function toEsdbEvent(prepared: PreparedEvent, original: NewEvent): JSONEventData {
  return {
    id: prepared.id,
    contentType: 'application/json',
    type: prepared.type,
    // JSONType is narrower than JSON (no top-level numbers, booleans or null), but the client only stringifies it.
    data: original.data as JSONType,
    metadata: encoder.encode(prepared.metadataJson),
  };
}

/** `$`-prefixed event types and stream names belong to EventStoreDB itself (stats, settings, links, metadata). */
export function isSystemRecord(record: Pick<EsdbRecord, 'type' | 'streamId'>): boolean {
  return record.type.startsWith('$') || record.streamId.startsWith('$');
}

export function toRecordedEvent(record: EsdbRecord): RecordedEvent {
  if (record.position === undefined) {
    // Stream reads carry positions only on EventStoreDB 22.6 and later.
    throw new Error(`EventStoreDB returned event ${record.id} without a position; server versions before 22.6 are not supported`);
  }
  return {
    id: record.id,
    type: record.type,
    streamId: record.streamId,
    revision: Number(record.revision),
    position: packPosition(record.position),
    recordedAt: record.created,
    data: record.data,
    // Written by this adapter from a validated EventMetadata (toEsdbEvent); the client has parsed the JSON.
    metadata: record.metadata as EventMetadata,
  };
}
