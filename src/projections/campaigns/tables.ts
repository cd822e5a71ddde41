import type { ColumnType, Selectable } from 'kysely';
import type { CampaignVariants } from '../../domain/campaigns/events.js';
import type { CampaignWinner, ExistingCampaign } from '../../domain/campaigns/state.js';
import type { Int8, Timestamp } from '../db/schema.js';

/** Read-model tables of the campaigns slice; part of the one Database interface (src/projections/db/schema.ts). */
export interface CampaignTables {
  campaigns: CampaignsTable;
  campaign_stats: CampaignStatsTable;
  campaign_engagement: CampaignEngagementTable;
}

/** jsonb: pg parses it on read; writes pass JSON text. */
type Json<T> = ColumnType<T, string | null, string | null>;
/** A nullable timestamptz written from the events' ISO strings. */
type OptionalTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type CampaignStatusColumn = ExistingCampaign['status'];

export interface CampaignsTable {
  id: string;
  workspace_id: string;
  name: string;
  status: CampaignStatusColumn;
  sender_email: string | null;
  sender_name: string | null;
  reply_to: string | null;
  segment_id: string | null;
  template_id: string | null;
  template_version: number | null;
  topic: string | null;
  /** The send time while scheduled (and after launch, the schedule that triggered it); null after unscheduling. */
  scheduled_at: OptionalTimestamp;
  time_zone: string | null;
  /** Stream revision of the CampaignScheduled event: the scheduler's launch command id names it. */
  scheduled_revision: number | null;
  variants: Json<CampaignVariants | null>;
  winner: Json<CampaignWinner | null>;
  /** Why it was cancelled or failed. */
  end_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  launched_at: OptionalTimestamp;
  launched_by: string | null;
  completed_at: OptionalTimestamp;
  /** Stream revision of the last event applied. */
  revision: number;
  last_position: Int8;
}

export const STATS_COUNTERS = [
  'audience_size',
  'sent',
  'delivered',
  'opened',
  'unique_opens',
  'clicked',
  'unique_clicks',
  'bounced',
  'complained',
  'unsubscribed',
  'failed',
] as const;

export type StatsCounter = (typeof STATS_COUNTERS)[number];

/** The whole campaign's row has this variant key; variant rows have theirs ('A', 'B', ...). */
export const WHOLE_CAMPAIGN = '';

export type CampaignStatsTable = { campaign_id: string; variant_key: string; workspace_id: string; updated_at: Timestamp } & Record<StatsCounter, ColumnType<number, number | undefined, number>>;

/** One row per campaign and recipient: makes opens and clicks countable once per contact. */
export interface CampaignEngagementTable {
  campaign_id: string;
  contact_id: string;
  workspace_id: string;
  variant_key: string | null;
  sent_at: OptionalTimestamp;
  opened_at: OptionalTimestamp;
  clicked_at: OptionalTimestamp;
  unsubscribed_at: OptionalTimestamp;
}

export type CampaignRow = Selectable<CampaignsTable>;
export type CampaignStatsRow = Selectable<CampaignStatsTable>;
