import { categoryOf, type EventMetadata, type RecordedEvent } from './port.js';

/** The JSON form of an event on NATS (and in NDJSON exports): positions as decimal strings, times as ISO-8601. */
export interface WireEvent {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly revision: number;
  readonly position: string;
  readonly recordedAt: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
}

/** Headers of every published event. The previous position lets a consumer notice a gap. */
export const HEADER_POSITION = 'Mkt-Position';
export const HEADER_PREVIOUS_POSITION = 'Mkt-Previous-Position';
/** W3C trace context of the relay's publish span (only when the event was appended inside a sampled trace). */
export const HEADER_TRACEPARENT = 'traceparent';

export function toWire(event: RecordedEvent): WireEvent {
  return { ...event, position: event.position.toString(), recordedAt: event.recordedAt.toISOString() };
}

export function fromWire(wire: WireEvent): RecordedEvent {
  if (typeof wire?.id !== 'string' || typeof wire.type !== 'string' || typeof wire.streamId !== 'string' || !/^\d+$/.test(String(wire.position))) {
    throw new Error('Not an event envelope: id, type, streamId and a decimal position are required');
  }
  return { ...wire, position: BigInt(wire.position), recordedAt: new Date(wire.recordedAt) };
}

/** `<prefix>.events.<category>.<streamId>.<EventType>` */
export function eventSubject(prefix: string, event: Pick<RecordedEvent, 'streamId' | 'type'>): string {
  return `${prefix}.events.${categoryOf(event.streamId)}.${event.streamId}.${event.type}`;
}
