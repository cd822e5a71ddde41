import { randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '../../src/eventstore/port.js';

/**
 * Realistic events for benchmarks: ~300 bytes of data JSON shaped like contact and campaign events, and full
 * metadata. Built before the clock starts, as a command handler would hand them to the store.
 */

const WORKSPACE_ID = 'ws_7f3c2a9e1b';
const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson'];
const COUNTRIES = ['GB', 'US', 'DE', 'FR', 'NL', 'SE', 'JP', 'BR'];

export type StreamKind = 'contact' | 'campaign';

export function streamIdFor(kind: StreamKind): string {
  return `${kind}-${randomUUID()}`;
}

function metadata(index: number): EventMetadata {
  return {
    correlationId: randomUUID(),
    causationId: randomUUID(),
    commandId: randomUUID(),
    actor: `user:${(index % 97).toString().padStart(4, '0')}@acme.example`,
    workspaceId: WORKSPACE_ID,
    schemaVersion: 1,
  };
}

function contactEvent(streamId: string, index: number): NewEvent {
  const first = FIRST_NAMES[index % FIRST_NAMES.length]!;
  const last = LAST_NAMES[(index >> 3) % LAST_NAMES.length]!;
  return {
    type: 'ContactAttributesUpdated',
    data: {
      contactId: streamId.slice('contact-'.length),
      email: `${first}.${last}.${index}@example.com`.toLowerCase(),
      firstName: first,
      lastName: last,
      locale: 'en-GB',
      attributes: { company: `${last} & Co`, plan: index % 3 === 0 ? 'pro' : 'free', country: COUNTRIES[index % COUNTRIES.length]! },
      tags: ['newsletter', `cohort-${index % 12}`],
      source: 'import:csv',
      updatedAt: new Date(1_760_000_000_000 + index * 1_000).toISOString(),
    },
    metadata: metadata(index),
  };
}

function campaignEvent(streamId: string, index: number): NewEvent {
  return {
    type: 'CampaignScheduled',
    data: {
      campaignId: streamId.slice('campaign-'.length),
      name: `Spring launch ${index % 50} – reminder wave`,
      segmentId: `seg_${(index % 211).toString(36).padStart(6, '0')}`,
      templateId: `tpl_${(index % 17).toString(36).padStart(6, '0')}`,
      channel: 'email',
      scheduledFor: new Date(1_760_000_000_000 + index * 60_000).toISOString(),
      timezone: 'Europe/London',
      throttle: { perMinute: 1_200, burst: 200 },
      subjectVariant: index % 2 === 0 ? 'A' : 'B',
    },
    metadata: metadata(index),
  };
}

/** The `index`-th event of a workload for `streamId` (the kind follows from the stream id's category). */
export function eventFor(streamId: string, index: number): NewEvent {
  return streamId.startsWith('campaign-') ? campaignEvent(streamId, index) : contactEvent(streamId, index);
}

/** Alternating contact and campaign streams. */
export function streamIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => streamIdFor(i % 2 === 0 ? 'contact' : 'campaign'));
}

/** An event together with the stream and revision the store will give it. */
export interface PlannedEvent {
  readonly streamId: string;
  readonly revision: number;
  readonly event: NewEvent;
}

/**
 * `appends` appends of `perAppend` events each, rotating over `streams`, with the revisions each stream reaches.
 * Appends to one stream are in order, so `expectedRevision = first revision - 1` (or 'no_stream') is exact.
 */
export function planAppends(streams: readonly string[], appends: number, perAppend: number): PlannedEvent[][] {
  const revisions = new Map<string, number>();
  let index = 0;
  return Array.from({ length: appends }, (_, a) => {
    const streamId = streams[a % streams.length]!;
    const first = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, first + perAppend - 1);
    return Array.from({ length: perAppend }, (_, i) => ({ streamId, revision: first + i, event: eventFor(streamId, index++) }));
  });
}
