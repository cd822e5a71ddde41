import { GraphQLScalarType, valueFromASTUntyped } from 'graphql';
import type { CampaignState } from '../../domain/campaigns/state.js';
import type { ContactState } from '../../domain/contacts/state.js';
import type { SegmentState } from '../../domain/segments/evolve.js';
import type { TemplateState } from '../../domain/templates/evolve.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { TemporalFold } from '../../replay/temporal.js';

/** Node mappers of the audit slice (audit.ts): folded domain states and recorded events as GraphQL objects. */

export const AuditJsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'AuditJSON',
  description: 'Any JSON value: a folded state, an event payload, or one value before/after a change.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

const upper = (value: string): string => value.toUpperCase();

/** The fields every `…AsOf` result shares; `entity` is the folded state mapped to its GraphQL type, or null. */
export function asOfNode<State>(fold: Exclude<TemporalFold<State>, { status: 'unknown' | 'no_such_revision' }>, what: string, asOf: Date | null, toEntity: (state: State) => unknown) {
  if (fold.status === 'not_yet') {
    return {
      asOf,
      status: 'NOT_YET_CREATED',
      reason: `The ${what} did not exist yet at ${asOf?.toISOString()}: its first event was recorded at ${fold.createdAt.toISOString()}.`,
      createdAt: fold.createdAt,
      revision: null,
      position: null,
      recordedAt: null,
      snapshotRevision: null,
      eventsFolded: 0,
      entity: null,
    };
  }
  return {
    asOf,
    status: 'FOUND',
    reason: null,
    createdAt: null,
    revision: fold.revision,
    position: fold.position,
    recordedAt: fold.recordedAt,
    snapshotRevision: fold.snapshotRevision,
    eventsFolded: fold.eventsFolded,
    entity: toEntity(fold.state),
  };
}

export function campaignStateNode(state: CampaignState) {
  if (state.status === 'none') return null;
  const s = state as CampaignState & Record<string, unknown>;
  const { settings, variants, winner } = state;
  return {
    id: state.campaignId,
    status: upper(state.status),
    ...settings,
    variants: variants === null ? null : { ...variants, winnerMetric: upper(variants.winnerMetric) },
    winner: winner === null ? null : { ...winner, metric: upper(winner.metric), values: Object.entries(winner.values).map(([key, value]) => ({ key, value })) },
    scheduledAt: s.scheduledAt ?? null,
    timeZone: s.timeZone ?? null,
    launchedAt: s.launchedAt || null,
    launchedBy: s.launchedBy || null,
    pausedAt: s.pausedAt ?? null,
    completedAt: s.completedAt ?? null,
    cancelledAt: s.cancelledAt ?? null,
    failedAt: s.failedAt ?? null,
    endReason: s.reason ?? null,
    state,
  };
}

export function contactStateNode(state: ContactState) {
  if (state.status === 'none') return null;
  if (state.status !== 'active') {
    // merged (into survivorId) or erased: no data of its own any more.
    const other = state as { readonly status: string; readonly contactId: string; readonly survivorId?: string };
    return { id: other.contactId, status: upper(other.status), mergedInto: other.survivorId ?? null, email: null, externalId: null, phone: null, attributes: [], tags: [], consents: [], suppression: null, state };
  }
  return {
    id: state.contactId,
    status: 'ACTIVE',
    mergedInto: null,
    email: state.email,
    externalId: state.externalId,
    phone: state.phone,
    attributes: Object.entries(state.attributes)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, v]) => ({ key, type: upper(v.type), value: v.value })),
    tags: state.tags,
    consents: Object.entries(state.consents).map(([topic, c]) => ({
      topic,
      status: upper(c.status),
      source: c.status === 'subscribed' ? c.source : null,
      consentTextVersion: c.status === 'subscribed' ? c.consentTextVersion : null,
      at: c.at,
    })),
    suppression: state.suppression === null ? null : { reason: upper(state.suppression.reason), at: state.suppression.at },
    state,
  };
}

export function templateStateNode(state: TemplateState) {
  if (state.status === 'none') return null;
  return { id: state.templateId, name: state.name, status: upper(state.status), version: state.version, ...state.content, state };
}

export function segmentStateNode(state: SegmentState) {
  if (state.status === 'none') return null;
  return {
    id: state.segmentId,
    name: state.name,
    status: upper(state.status),
    version: state.version,
    description: state.status === 'active' ? state.description : null,
    rules: state.status === 'active' ? state.rules : null,
    state,
  };
}

/** An event with its envelope metadata (who, which request, when). */
export function auditEventNode(event: RecordedEvent) {
  return {
    eventId: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: event.revision,
    position: event.position,
    recordedAt: event.recordedAt,
    actor: event.metadata.actor,
    commandId: event.metadata.commandId,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
    schemaVersion: event.metadata.schemaVersion,
    data: event.data,
  };
}
