import { sql, type Transaction } from 'kysely';
import { upcastCampaignEvent } from '../../domain/campaigns/events.js';
import { upcastContactEvent } from '../../domain/contacts/events.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/projectionRunner.js';
import { COUNTER_OF, DELIVERY_EVENT_TYPES, deliveryData, keepFirst, UUID, type DeliveryEventData, type DeliveryEventType, type EngagementColumn } from './deliveryEvents.js';
import { applyStatsEvents } from './statsBatch.js';
import { STATS_COUNTERS, WHOLE_CAMPAIGN, type StatsCounter } from './tables.js';

/**
 * Campaign statistics, per campaign (variant key '') and per A/B variant: created at zero by CampaignCreated and
 * CampaignVariantsDefined, then counted from the delivery events. The shapes below are what this projection reads
 * (the delivery slice's src/domain/deliveries/events.ts writes them, in streams `email-<campaignId>_<contactId>`;
 * any stream works). Every event's metadata workspaceId must be the campaign's, or it counts for nothing.
 *
 * - `AudienceFrozen { campaignId, audienceSize, variantSizes: { [variantKey]: number } | null, at }` sets
 *   audience_size (the whole campaign's, and each variant's when given: with an A/B test phase, the sample's).
 * - `WinnerRoundStarted { campaignId, variantKey, holdoutSize, at }` (an A/B test's holdout gets the winner) adds
 *   the holdout to the winner's audience_size; the winner round's sends then count under the winner.
 * - `EmailSent { campaignId, variantKey, contactId, messageId, sentAt | at, ... }` → sent + 1; remembers the
 *   contact's variant.
 * - `EmailDelivered { campaignId, variantKey?, contactId, at }` → delivered + 1.
 * - `EmailOpened { campaignId, variantKey?, contactId, at }` → opened + 1; unique_opens + 1 on the contact's first.
 * - `EmailClicked { campaignId, variantKey?, contactId, url, at }` → clicked + 1; unique_clicks + 1 on the first.
 * - `EmailBounced { campaignId, contactId, kind: 'hard' | 'soft', at, ... }` → bounced + 1.
 * - `EmailComplained { campaignId, contactId, at, ... }` → complained + 1.
 * - `EmailFailed { campaignId, variantKey?, contactId, reason, at, ... }` and
 *   `EmailRenderFailed { campaignId, variantKey?, contactId, reason, at }` → failed + 1.
 * - `ContactUnsubscribed` (the contact's own event, stream `contact-<contactId>`) with a `campaignId` (schema v2;
 *   v1 named it only in `source: 'one-click:<campaignId>' | 'link:<campaignId>'`) → unsubscribed + 1, once per contact.
 *
 * `variantKey` is null (or absent) for a campaign without variants; when an event leaves it out, the variant the
 * contact was sent (from its EmailSent) is counted. A delivery event without a uuid campaignId or a contactId
 * throws (the runner parks it); an unsubscribe from another source is not a campaign's and is skipped.
 */
export const CAMPAIGN_STATS_PROJECTION = 'campaign_stats';


export interface AudienceFrozenData {
  readonly campaignId: string;
  readonly audienceSize: number;
  readonly variantSizes: Readonly<Record<string, number>> | null;
  readonly at: string;
}


/**
 * `applyMany` (statsBatch.ts) counts a launch's runs of EmailSent, EmailDelivered, EmailFailed and
 * EmailRenderFailed that name their variant in a few statements per run, and hands every other event to `apply`.
 * A change to how those four are validated or counted (countDelivery, markEngagement, bump) must be made in
 * statsBatch.ts too; test/projections/campaigns/statsApplyMany.test.ts compares the two on a mixed log.
 */
export const campaignStatsProjection: Projection = {
  name: CAMPAIGN_STATS_PROJECTION,
  tables: ['campaign_stats', 'campaign_engagement'],
  eventTypes: ['CampaignCreated', 'CampaignVariantsDefined', 'AudienceFrozen', 'WinnerRoundStarted', ...DELIVERY_EVENT_TYPES, 'ContactUnsubscribed'],
  async apply(trx, event) {
    if (event.type === 'CampaignCreated' || event.type === 'CampaignVariantsDefined') return createRows(trx, event);
    if (event.type === 'AudienceFrozen') return freezeAudience(trx, event);
    if (event.type === 'WinnerRoundStarted') return addHoldout(trx, event);
    if (event.type === 'ContactUnsubscribed') return countUnsubscribe(trx, event);
    return countDelivery(trx, event, deliveryData(event));
  },
  applyMany: (trx, events) => applyStatsEvents(trx, events, (t, e) => campaignStatsProjection.apply(t, e)),
};

async function createRows(trx: Transaction<Database>, recorded: RecordedEvent): Promise<void> {
  const event = upcastCampaignEvent(recorded, recorded.metadata.schemaVersion);
  const campaignId = recorded.streamId.slice('campaign-'.length);
  const keys = event.type === 'CampaignVariantsDefined' ? event.data.variants.map((v) => v.key) : [WHOLE_CAMPAIGN];
  const workspaceId = recorded.metadata.workspaceId;
  if (event.type === 'CampaignVariantsDefined') {
    // Variants are defined before launch, so the rows of a replaced definition still count nothing.
    await trx.deleteFrom('campaign_stats').where('campaign_id', '=', campaignId).where('variant_key', '<>', WHOLE_CAMPAIGN).where('variant_key', 'not in', keys).execute();
  }
  await trx
    .insertInto('campaign_stats')
    .values(keys.map((variant_key) => ({ campaign_id: campaignId, variant_key, workspace_id: workspaceId, updated_at: recorded.recordedAt })))
    .onConflict((oc) => oc.columns(['campaign_id', 'variant_key']).doNothing())
    .execute();
}


/** Events name campaigns by id: only the campaign's own workspace may count for it. */
async function isWorkspaceCampaign(trx: Transaction<Database>, event: RecordedEvent, campaignId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('campaign_stats')
    .select('campaign_id')
    .where('campaign_id', '=', campaignId)
    .where('variant_key', '=', WHOLE_CAMPAIGN)
    .where('workspace_id', '=', event.metadata.workspaceId)
    .executeTakeFirst();
  return row !== undefined;
}

async function countDelivery(trx: Transaction<Database>, event: RecordedEvent, data: DeliveryEventData): Promise<void> {
  if (!(await isWorkspaceCampaign(trx, event, data.campaignId))) return;
  const type = event.type as DeliveryEventType;
  const counts: Partial<Record<StatsCounter, number>> = { [COUNTER_OF[type]]: 1 };
  const firstTime = (column: 'sent_at' | 'opened_at' | 'clicked_at') => markEngagement(trx, event, data.campaignId, data.contactId, data.variantKey, column, data.at);
  if (type === 'EmailSent') await firstTime('sent_at');
  if (type === 'EmailOpened' && (await firstTime('opened_at'))) counts.unique_opens = 1;
  if (type === 'EmailClicked' && (await firstTime('clicked_at'))) counts.unique_clicks = 1;
  const variantKey = data.variantKey ?? (await sentVariant(trx, data.campaignId, data.contactId));
  await bump(trx, event, data.campaignId, variantKey, counts);
}

/** The variant a contact was sent, for events that do not name it (bounces, complaints, unsubscribes). */
async function sentVariant(trx: Transaction<Database>, campaignId: string, contactId: string): Promise<string | null> {
  const row = await trx.selectFrom('campaign_engagement').select('variant_key').where('campaign_id', '=', campaignId).where('contact_id', '=', contactId).executeTakeFirst();
  return row?.variant_key ?? null;
}

async function freezeAudience(trx: Transaction<Database>, event: RecordedEvent): Promise<void> {
  const { campaignId, audienceSize, variantSizes } = event.data as Partial<AudienceFrozenData>;
  if (typeof campaignId !== 'string' || !UUID.test(campaignId) || typeof audienceSize !== 'number') throw new Error('AudienceFrozen needs campaignId (a uuid) and audienceSize');
  if (!(await isWorkspaceCampaign(trx, event, campaignId))) return;
  const sizes: [string, number][] = [[WHOLE_CAMPAIGN, audienceSize], ...Object.entries(variantSizes ?? {})];
  for (const [variantKey, size] of sizes) {
    await trx
      .updateTable('campaign_stats')
      .set({ audience_size: size, updated_at: event.recordedAt })
      .where('campaign_id', '=', campaignId)
      .where('variant_key', '=', variantKey)
      .where('workspace_id', '=', event.metadata.workspaceId)
      .execute();
  }
}

async function addHoldout(trx: Transaction<Database>, event: RecordedEvent): Promise<void> {
  const { campaignId, variantKey, holdoutSize } = event.data as { campaignId?: unknown; variantKey?: unknown; holdoutSize?: unknown };
  if (typeof campaignId !== 'string' || !UUID.test(campaignId) || typeof variantKey !== 'string' || typeof holdoutSize !== 'number') {
    throw new Error('WinnerRoundStarted needs campaignId (a uuid), variantKey and holdoutSize');
  }
  if (!(await isWorkspaceCampaign(trx, event, campaignId))) return;
  await trx
    .updateTable('campaign_stats')
    .set((eb) => ({ audience_size: eb('audience_size', '+', holdoutSize), updated_at: event.recordedAt }))
    .where('campaign_id', '=', campaignId)
    .where('variant_key', '=', variantKey)
    .where('workspace_id', '=', event.metadata.workspaceId)
    .execute();
}

async function countUnsubscribe(trx: Transaction<Database>, event: RecordedEvent): Promise<void> {
  // Schema v2 names the campaign; a v1 event (only its source did) is upcast by the same rule.
  const unsubscribed = upcastContactEvent(event, event.metadata.schemaVersion);
  const campaignId = unsubscribed.type === 'ContactUnsubscribed' ? unsubscribed.data.campaignId : null;
  if (campaignId === null || !event.streamId.startsWith('contact-') || !(await isWorkspaceCampaign(trx, event, campaignId))) return;
  const contactId = event.streamId.slice('contact-'.length);
  const at = (event.data as { at?: unknown }).at;
  if (!(await markEngagement(trx, event, campaignId, contactId, null, 'unsubscribed_at', typeof at === 'string' ? at : event.recordedAt.toISOString()))) return;
  await bump(trx, event, campaignId, await sentVariant(trx, campaignId, contactId), { unsubscribed: 1 });
}

/**
 * Records the contact's first `column` for the campaign; true when this was the first (so unique counters
 * move once per contact). The variant key is kept from the first event that names one.
 */
async function markEngagement(
  trx: Transaction<Database>,
  event: RecordedEvent,
  campaignId: string,
  contactId: string,
  variantKey: string | null,
  column: EngagementColumn,
  at: string,
): Promise<boolean> {
  const row = await trx
    .insertInto('campaign_engagement')
    .values({ campaign_id: campaignId, contact_id: contactId, workspace_id: event.metadata.workspaceId, variant_key: variantKey, [column]: at })
    .onConflict(keepFirst(column))
    .returning('campaign_id')
    .executeTakeFirst();
  return row !== undefined;
}


/** Adds to the whole campaign's counters and the variant's, if the campaign is this event's workspace's. */
async function bump(trx: Transaction<Database>, event: RecordedEvent, campaignId: string, variantKey: string | null, counts: Partial<Record<StatsCounter, number>>): Promise<void> {
  const sets = STATS_COUNTERS.filter((c) => counts[c] !== undefined).map((c) => sql`${sql.ref(c)} = ${sql.ref(c)} + ${counts[c]!}`);
  const keys = variantKey === null ? [WHOLE_CAMPAIGN] : [WHOLE_CAMPAIGN, variantKey];
  await sql`
    UPDATE campaign_stats SET ${sql.join(sets)}, updated_at = ${event.recordedAt}
    WHERE campaign_id = ${campaignId}::uuid AND variant_key = ANY(${keys}::text[]) AND workspace_id = ${event.metadata.workspaceId}`.execute(trx);
}
