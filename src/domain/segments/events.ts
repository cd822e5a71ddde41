import type { Rule } from './rules.js';

/**
 * Segment events (stream `segment-<segmentId>`). A segment is a named, versioned rule definition: version 1 is
 * defined, every rules change adds one. Times are ISO-8601 strings chosen by the command.
 */

export interface SegmentDefined {
  readonly type: 'SegmentDefined';
  readonly data: {
    readonly segmentId: string;
    readonly name: string;
    readonly description: string | null;
    /** Validated on save (src/domain/segments/rules.ts); attribute leaves carry their resolved type. */
    readonly rules: Rule;
    readonly version: 1;
    readonly definedAt: string;
  };
}

export interface SegmentRulesChanged {
  readonly type: 'SegmentRulesChanged';
  readonly data: { readonly rules: Rule; readonly version: number; readonly changedAt: string };
}

/** Name and description after the change (description null: none). */
export interface SegmentRenamed {
  readonly type: 'SegmentRenamed';
  readonly data: { readonly name: string; readonly description: string | null; readonly renamedAt: string };
}

export interface SegmentDeleted {
  readonly type: 'SegmentDeleted';
  readonly data: { readonly deletedAt: string };
}

export type SegmentEvent = SegmentDefined | SegmentRulesChanged | SegmentRenamed | SegmentDeleted;
export type SegmentEventType = SegmentEvent['type'];

export const SEGMENT_EVENT_TYPES: readonly SegmentEventType[] = ['SegmentDefined', 'SegmentRulesChanged', 'SegmentRenamed', 'SegmentDeleted'];

/** The schema version each event type is written with today. */
export const SEGMENT_EVENT_SCHEMA_VERSIONS: Readonly<Record<SegmentEventType, number>> = {
  SegmentDefined: 1,
  SegmentRulesChanged: 1,
  SegmentRenamed: 1,
  SegmentDeleted: 1,
};

export const segmentSchemaVersionOf = (eventType: string): number => SEGMENT_EVENT_SCHEMA_VERSIONS[eventType as SegmentEventType] ?? 1;

/**
 * The upcaster path: turns a stored segment event of any known schema version into today's shape. Every type is
 * still at version 1, so this only refuses versions it does not know (written by a newer engine).
 */
export function upcastSegmentEvent(event: { readonly type: string; readonly data: unknown }, schemaVersion: number): SegmentEvent {
  const current = SEGMENT_EVENT_SCHEMA_VERSIONS[event.type as SegmentEventType];
  if (current === undefined) throw new Error(`Not a segment event: ${event.type}`);
  if (schemaVersion !== current) throw new Error(`${event.type} schema version ${schemaVersion} is unknown (this engine reads ${current})`);
  return event as SegmentEvent;
}

export const segmentStreamId = (segmentId: string): string => `segment-${segmentId}`;

export const isSegmentStream = (streamId: string): boolean => streamId.startsWith('segment-');

export const segmentIdOfStream = (streamId: string): string => streamId.slice('segment-'.length);
