import { createHash } from 'node:crypto';
import { CAMPAIGN_EVENT_SCHEMA_VERSIONS, campaignStreamId, upcastCampaignEvent } from '../domain/campaigns/events.js';
import { evolveCampaign, initialCampaignState, type CampaignState } from '../domain/campaigns/state.js';
import { CONTACT_EVENT_TYPES, contactStreamId, type ContactEvent } from '../domain/contacts/events.js';
import { evolve as evolveContact } from '../domain/contacts/evolve.js';
import { initialContactState, type ContactState } from '../domain/contacts/state.js';
import { SEGMENT_EVENT_SCHEMA_VERSIONS, segmentStreamId, upcastSegmentEvent } from '../domain/segments/events.js';
import { evolveSegment, initialSegmentState, type SegmentState } from '../domain/segments/evolve.js';
import { TEMPLATE_EVENT_SCHEMA_VERSIONS, templateStreamId, upcastTemplateEvent } from '../domain/templates/events.js';
import { evolveTemplate, initialTemplateState, type TemplateState } from '../domain/templates/evolve.js';
import type { RecordedEvent } from '../eventstore/port.js';

/**
 * What a temporal query folds: one aggregate's stream with the domain's own evolve (after the upcaster path),
 * so "the campaign as of T" is exactly what the command handler would have decided against at T.
 */
export interface TemporalKind<State> {
  readonly name: 'campaign' | 'contact' | 'template' | 'segment';
  readonly streamId: (id: string) => string;
  readonly initial: () => State;
  readonly evolve: (state: State, event: RecordedEvent) => State;
  /** False while the stream's events have not created the aggregate yet. */
  readonly exists: (state: State) => boolean;
  /**
   * Identifies the evolve code and the event schema versions a snapshot was folded with; bump the number when
   * evolve changes. null: never snapshot this kind.
   */
  readonly snapshotVersion: string | null;
}

/** Bump when an evolve function changes meaning: old snapshots are then ignored (and may be deleted). */
const FOLD_CODE_VERSION = 1;

const versionOf = (kind: string, schemaVersions: Readonly<Record<string, number>>): string =>
  `${kind}:${FOLD_CODE_VERSION}:${createHash('sha256').update(JSON.stringify(Object.entries(schemaVersions).sort())).digest('hex').slice(0, 12)}`;

export const campaignKind: TemporalKind<CampaignState> = {
  name: 'campaign',
  streamId: campaignStreamId,
  initial: initialCampaignState,
  evolve: (state, event) => evolveCampaign(state, upcastCampaignEvent(event, event.metadata.schemaVersion)),
  exists: (state) => state.status !== 'none',
  snapshotVersion: versionOf('campaign', CAMPAIGN_EVENT_SCHEMA_VERSIONS),
};

const CONTACT_TYPES = new Set<string>(CONTACT_EVENT_TYPES);

export const contactKind: TemporalKind<ContactState> = {
  name: 'contact',
  streamId: contactStreamId,
  initial: initialContactState,
  // Types this evolve does not know (written by newer code, e.g. an erasure marker) leave the state as it is.
  evolve: (state, event) => (CONTACT_TYPES.has(event.type) ? evolveContact(state, event as unknown as ContactEvent) : state),
  exists: (state) => state.status !== 'none',
  // Never: a snapshot would be a plain copy of personal data that crypto-shredding (erasure) could not reach.
  // Contact streams are short, so folding them from the start is cheap.
  snapshotVersion: null,
};

export const templateKind: TemporalKind<TemplateState> = {
  name: 'template',
  streamId: templateStreamId,
  initial: initialTemplateState,
  evolve: (state, event) => evolveTemplate(state, upcastTemplateEvent(event, event.metadata.schemaVersion)),
  exists: (state) => state.status !== 'none',
  snapshotVersion: versionOf('template', TEMPLATE_EVENT_SCHEMA_VERSIONS),
};

export const segmentKind: TemporalKind<SegmentState> = {
  name: 'segment',
  streamId: segmentStreamId,
  initial: initialSegmentState,
  evolve: (state, event) => evolveSegment(state, upcastSegmentEvent(event, event.metadata.schemaVersion)),
  exists: (state) => state.status !== 'none',
  snapshotVersion: versionOf('segment', SEGMENT_EVENT_SCHEMA_VERSIONS),
};
