import { sql, type OnConflictBuilder } from 'kysely';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import type { StatsCounter } from './tables.js';

/**
 * The delivery events the campaign-stats projection counts, and the rules both of its paths share: `apply` event by
 * event (stats.ts) and `applyMany`'s runs (statsBatch.ts).
 */

export const DELIVERY_EVENT_TYPES = ['EmailSent', 'EmailDelivered', 'EmailOpened', 'EmailClicked', 'EmailBounced', 'EmailComplained', 'EmailFailed', 'EmailRenderFailed'] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

export interface DeliveryEventData {
  readonly campaignId: string;
  readonly variantKey: string | null;
  readonly contactId: string;
  readonly at: string;
}

export const COUNTER_OF: Readonly<Record<DeliveryEventType, StatsCounter>> = {
  EmailSent: 'sent',
  EmailDelivered: 'delivered',
  EmailOpened: 'opened',
  EmailClicked: 'clicked',
  EmailBounced: 'bounced',
  EmailComplained: 'complained',
  EmailFailed: 'failed',
  EmailRenderFailed: 'failed',
};

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The fields a delivery event must carry (the runner parks one that lacks them). */
export function deliveryData(event: RecordedEvent): DeliveryEventData {
  const data = event.data as Partial<Record<keyof DeliveryEventData | 'sentAt', unknown>>;
  const { campaignId, variantKey, contactId } = data;
  if (typeof campaignId !== 'string' || !UUID.test(campaignId)) throw new Error(`${event.type} needs campaignId (a uuid)`);
  if (variantKey != null && typeof variantKey !== 'string') throw new Error(`${event.type} has a variantKey that is not a string`);
  if (typeof contactId !== 'string' || contactId === '') throw new Error(`${event.type} needs contactId`);
  const at = [data.at, data.sentAt].find((t): t is string => typeof t === 'string') ?? event.recordedAt.toISOString();
  return { campaignId, variantKey: variantKey ?? null, contactId, at };
}

export type EngagementColumn = 'sent_at' | 'opened_at' | 'clicked_at' | 'unsubscribed_at';

/**
 * markEngagement's conflict rule, for any INSERT of engagement rows: an existing row of the same workspace takes
 * the inserted `column` only while it has none, and keeps its variant key if it has one.
 */
export function keepFirst(column: EngagementColumn) {
  return (oc: OnConflictBuilder<Database, 'campaign_engagement'>) =>
    oc
      .columns(['campaign_id', 'contact_id'])
      .doUpdateSet({ [column]: sql.ref(`excluded.${column}`), variant_key: sql`coalesce(campaign_engagement.variant_key, excluded.variant_key)` })
      .where(`campaign_engagement.${column}`, 'is', null)
      .whereRef('campaign_engagement.workspace_id', '=', 'excluded.workspace_id');
}
