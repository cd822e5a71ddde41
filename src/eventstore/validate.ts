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

/** Validates an append and serializes its events once; throws InvalidAppendError and writes nothing on bad input. */
export function prepareAppend(streamId: string, events: readonly NewEvent[], options: AppendOptions): PreparedEvent[] {
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
  const seen = new Set<string>();
  return events.map((event, index) => {
    const field = `events[${index}]`;
    if (typeof event?.type !== 'string' || !TOKEN.test(event.type) || event.type.length > 200) {
      throw new InvalidAppendError(`${field}.type must be a non-empty token of letters, digits, '_', '-' or ':'`, `${field}.type`);
    }
    if (event.type.startsWith('$')) {
      throw new InvalidAppendError(`${field}.type may not start with '$' (reserved for system events)`, `${field}.type`);
    }
    const id = event.id ?? randomUUID();
    if (!UUID.test(id)) throw new InvalidAppendError(`${field}.id must be a uuid`, `${field}.id`);
    if (seen.has(id.toLowerCase())) throw new InvalidAppendError(`${field}.id is repeated in the append`, `${field}.id`);
    seen.add(id.toLowerCase());
    validateMetadata(event.metadata, `${field}.metadata`);
    const dataJson = toJson(event.data, `${field}.data`);
    const metadataJson = toJson(event.metadata, `${field}.metadata`);
    const bytes = Buffer.byteLength(dataJson) + Buffer.byteLength(metadataJson);
    if (bytes > MAX_EVENT_BYTES) {
      throw new InvalidAppendError(`${field} is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES}`, `${field}.data`);
    }
    return { id: id.toLowerCase(), type: event.type, dataJson, metadataJson };
  });
}

function validateMetadata(metadata: unknown, field: string): void {
  if (typeof metadata !== 'object' || metadata === null) throw new InvalidAppendError(`${field} is required`, field);
  const m = metadata as Record<string, unknown>;
  for (const key of ['correlationId', 'actor', 'workspaceId'] as const) {
    if (typeof m[key] !== 'string' || (m[key] as string).length === 0) {
      throw new InvalidAppendError(`${field}.${key} must be a non-empty string`, `${field}.${key}`);
    }
  }
  for (const key of ['causationId', 'commandId'] as const) {
    if (m[key] !== null && typeof m[key] !== 'string') {
      throw new InvalidAppendError(`${field}.${key} must be a string or null`, `${field}.${key}`);
    }
  }
  if (!Number.isSafeInteger(m.schemaVersion) || (m.schemaVersion as number) < 1) {
    throw new InvalidAppendError(`${field}.schemaVersion must be an integer >= 1`, `${field}.schemaVersion`);
  }
}

/** JSON that round-trips: rejects undefined, functions, bigint, symbols, NaN/Infinity, holes and cycles. */
function toJson(value: unknown, field: string): string {
  // The fast check allocates nothing; only when it fails is the walk repeated to name the offending path.
  if (!isPlainJson(value, new Set())) throw new InvalidAppendError(`${field} is not JSON: ${findNonJson(value, new Set()) ?? 'unsupported value'}`, field);
  return JSON.stringify(value);
}

function isPlainJson(value: unknown, ancestors: Set<object>): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (ancestors.has(value)) return false;
      ancestors.add(value);
      let ok = true;
      if (Array.isArray(value)) {
        for (let i = 0; ok && i < value.length; i++) ok = i in value && isPlainJson(value[i], ancestors);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) ok = false;
        else for (const key in value) if (ok && Object.hasOwn(value, key)) ok = isPlainJson((value as Record<string, unknown>)[key], ancestors);
      }
      ancestors.delete(value);
      return ok;
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

/** Validates every part of an appendMany; stream ids must be distinct. Field names carry the stream's index. */
export function prepareAppendMany(appends: readonly { streamId: string; events: readonly NewEvent[]; expectedRevision: AppendOptions['expectedRevision'] }[]): PreparedEvent[][] {
  if (!Array.isArray(appends) || appends.length === 0) throw new InvalidAppendError('appendMany needs at least one stream', 'appends');
  const streams = new Set<string>();
  let total = 0;
  return appends.map((append, index) => {
    if (streams.has(append.streamId)) throw new InvalidAppendError(`appends[${index}]: stream ${append.streamId} appears twice`, `appends[${index}].streamId`);
    streams.add(append.streamId);
    total += append.events?.length ?? 0;
    if (total > MAX_EVENTS_PER_APPEND) throw new InvalidAppendError(`At most ${MAX_EVENTS_PER_APPEND} events per appendMany`, 'appends');
    try {
      return prepareAppend(append.streamId, append.events, { expectedRevision: append.expectedRevision });
    } catch (error) {
      if (error instanceof InvalidAppendError) throw new InvalidAppendError(`appends[${index}]: ${error.message}`, `appends[${index}].${error.field}`);
      throw error;
    }
  });
}
