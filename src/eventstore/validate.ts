import { randomUUID } from 'node:crypto';
import { InvalidAppendError } from './errors.js';
import type { AppendOptions, NewEvent } from './port.js';

/** An event's serialized data + metadata may not exceed this (EventStoreDB's own default limit is about 1 MiB). */
export const MAX_EVENT_BYTES = 1024 * 1024;
export const MAX_EVENTS_PER_APPEND = 10_000;

/**
 * Stream ids become NATS subject tokens (`<prefix>.events.<category>.<streamId>.<type>`), so they may not hold
 * `.`, `*`, `>` or white space. Event types likewise.
 */
const TOKEN = /^[A-Za-z0-9_\-:]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly dataJson: string;
  readonly metadataJson: string;
}

export function validateStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200 || !TOKEN.test(streamId)) {
    throw new InvalidAppendError(
      `Invalid stream id ${JSON.stringify(streamId)}: 1-200 characters of letters, digits, '_', '-' or ':'`,
      'streamId',
    );
  }
}

/**
 * Validates an append and serializes its events once; throws InvalidAppendError and writes nothing on bad input.
 * `seen` holds the event ids of the whole call (appendMany shares one across its streams).
 */
export function prepareAppend(streamId: string, events: readonly NewEvent[], options: AppendOptions, seen = new Set<string>()): PreparedEvent[] {
  validateStreamId(streamId);
  const expected = options?.expectedRevision;
  const validExpected =
    expected === 'any' ||
    expected === 'no_stream' ||
    expected === 'stream_exists' ||
    (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0);
  if (!validExpected) {
    throw new InvalidAppendError(
      `Invalid expected revision ${JSON.stringify(expected)}: use 'any', 'no_stream', 'stream_exists' or a revision >= 0`,
      'expectedRevision',
    );
  }
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError('An append needs at least one event', 'events');
  }
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidAppendError(`At most ${MAX_EVENTS_PER_APPEND} events per append`, 'events');
  }
  const prepared: PreparedEvent[] = new Array(events.length);
  // A batch of 100 events is validated on every append: field names are only built when something is wrong.
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    if (typeof event?.type !== 'string' || !TOKEN.test(event.type) || event.type.length > 200) {
      throw new InvalidAppendError(`${eventField(index)}.type must be a non-empty token of letters, digits, '_', '-' or ':'`, `${eventField(index)}.type`);
    }
    if (event.type.startsWith('$')) {
      throw new InvalidAppendError(`${eventField(index)}.type may not start with '$' (reserved for system events)`, `${eventField(index)}.type`);
    }
    const id = event.id == null ? randomUUID() : typeof event.id === 'string' ? event.id.toLowerCase() : '';
    if (!UUID.test(id)) throw new InvalidAppendError(`${eventField(index)}.id must be a uuid`, `${eventField(index)}.id`);
    if (seen.has(id)) throw new InvalidAppendError(`${eventField(index)}.id is repeated in the append`, `${eventField(index)}.id`);
    seen.add(id);
    validateMetadata(event.metadata, index);
    const dataJson = toJson(event.data, index, 'data');
    const metadataJson = toJson(event.metadata, index, 'metadata');
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only documents that could be over the limit are measured.
    if ((dataJson.length + metadataJson.length) * 3 > MAX_EVENT_BYTES) {
      const bytes = Buffer.byteLength(dataJson) + Buffer.byteLength(metadataJson);
      if (bytes > MAX_EVENT_BYTES) {
        throw new InvalidAppendError(`${eventField(index)} is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES}`, `${eventField(index)}.data`);
      }
    }
    prepared[index] = { id, type: event.type, dataJson, metadataJson };
  }
  return prepared;
}

const eventField = (index: number): string => `events[${index}]`;

function validateMetadata(metadata: unknown, index: number): void {
  const field = (key?: string) => `${eventField(index)}.metadata${key === undefined ? '' : `.${key}`}`;
  if (typeof metadata !== 'object' || metadata === null) throw new InvalidAppendError(`${field()} is required`, field());
  const m = metadata as Record<string, unknown>;
  for (const key of ['correlationId', 'actor', 'workspaceId'] as const) {
    if (typeof m[key] !== 'string' || (m[key] as string).length === 0) {
      throw new InvalidAppendError(`${field(key)} must be a non-empty string`, field(key));
    }
  }
  for (const key of ['causationId', 'commandId'] as const) {
    if (m[key] !== null && typeof m[key] !== 'string') {
      throw new InvalidAppendError(`${field(key)} must be a string or null`, field(key));
    }
  }
  if (!Number.isSafeInteger(m.schemaVersion) || (m.schemaVersion as number) < 1) {
    throw new InvalidAppendError(`${field('schemaVersion')} must be an integer >= 1`, field('schemaVersion'));
  }
}

/** JSON that round-trips: rejects undefined, functions, bigint, symbols, NaN/Infinity, holes and cycles. */
function toJson(value: unknown, index: number, part: 'data' | 'metadata'): string {
  // The fast check allocates nothing (no set of ancestors: a cycle shows as a nesting deeper than any event's);
  // only when it says no is the exact walk run, which names the offending path or clears a merely deep value.
  if (!isPlainJson(value, 0)) {
    const problem = findNonJson(value, new Set());
    if (problem !== null) throw new InvalidAppendError(`${eventField(index)}.${part} is not JSON: ${problem}`, `${eventField(index)}.${part}`);
  }
  return JSON.stringify(value);
}

const FAST_CHECK_DEPTH = 64;

function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= FAST_CHECK_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) if (Object.hasOwn(value, key) && !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** The first non-JSON value's path and why (only called once isPlainJson said no). */
function findNonJson(value: unknown, ancestors: Set<object>, path = '$'): string | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${path} is ${value}`;
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) return `${path} is circular`;
      if (value instanceof Date) return `${path} is a Date (send an ISO string)`;
      const proto = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return `${path} is a ${proto?.constructor?.name ?? 'class instance'}`;
      ancestors.add(value);
      // Array.from visits holes too (a sparse array's hole becomes undefined, which JSON cannot hold).
      const entries = Array.isArray(value) ? Array.from(value, (v, i) => [String(i), v] as const) : Object.entries(value);
      for (const [key, child] of entries) {
        const problem = findNonJson(child, ancestors, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
        if (problem !== null) return problem;
      }
      ancestors.delete(value);
      return null;
    }
    default:
      return `${path} is ${typeof value}`;
  }
}

/**
 * Validates every part of an appendMany; stream ids, and event ids across all its streams, must be distinct.
 * Field names carry the stream's index.
 */
export function prepareAppendMany(appends: readonly { streamId: string; events: readonly NewEvent[]; expectedRevision: AppendOptions['expectedRevision'] }[]): PreparedEvent[][] {
  if (!Array.isArray(appends) || appends.length === 0) throw new InvalidAppendError('appendMany needs at least one stream', 'appends');
  const streams = new Set<string>();
  const ids = new Set<string>();
  let total = 0;
  return appends.map((append, index) => {
    if (streams.has(append.streamId)) throw new InvalidAppendError(`appends[${index}]: stream ${append.streamId} appears twice`, `appends[${index}].streamId`);
    streams.add(append.streamId);
    total += append.events?.length ?? 0;
    if (total > MAX_EVENTS_PER_APPEND) throw new InvalidAppendError(`At most ${MAX_EVENTS_PER_APPEND} events per appendMany`, 'appends');
    try {
      return prepareAppend(append.streamId, append.events, { expectedRevision: append.expectedRevision }, ids);
    } catch (error) {
      if (error instanceof InvalidAppendError) throw new InvalidAppendError(`appends[${index}]: ${error.message}`, `appends[${index}].${error.field}`);
      throw error;
    }
  });
}
