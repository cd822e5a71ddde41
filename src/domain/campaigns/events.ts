/**
 * Campaign events (stream `campaign-<campaignId>`). Times are ISO-8601 instants chosen by the command; `by` and
 * the other actors are API actors (`apikey:<id>`) or `scheduler`.
 */

export interface Sender {
  readonly email: string;
  readonly name: string | null;
}

/** What the campaign sends to whom: the editable settings, complete after every change. */
export interface CampaignSettings {
  readonly name: string;
  readonly sender: Sender | null;
  readonly replyTo: string | null;
  readonly segmentId: string | null;
  readonly templateId: string | null;
  /** The pinned template version; set whenever templateId is. */
  readonly templateVersion: number | null;
  /** The consent topic recipients must be subscribed to (null: any marketing consent). */
  readonly topic: string | null;
}

export type WinnerMetric = 'open_rate' | 'click_rate';

export interface CampaignVariant {
  /** 'A', 'B', ... unique within the campaign. */
  readonly key: string;
  readonly templateId: string;
  readonly templateVersion: number;
  /** Replaces the template's subject for this variant (Liquid); null: the template's own. */
  readonly subject: string | null;
  /** Share of the test sample, in percent; all variants sum to 100. */
  readonly splitPercent: number;
}

export interface CampaignVariants {
  readonly variants: readonly CampaignVariant[];
  /** Share of the audience that takes part in the test; the rest gets the winner. */
  readonly testSamplePercent: number;
  readonly winnerMetric: WinnerMetric;
  /** Hours after the test sample was sent when the winner is picked automatically; null: picked by hand. */
  readonly winnerAfterHours: number | null;
}

export interface CampaignCompletionCounts {
  readonly audience: number;
  readonly sent: number;
  readonly failed: number;
  readonly skipped: number;
}

export type CampaignCreated = { readonly type: 'CampaignCreated'; readonly data: CampaignSettings & { readonly campaignId: string; readonly createdAt: string } };
export type CampaignUpdated = { readonly type: 'CampaignUpdated'; readonly data: CampaignSettings & { readonly updatedAt: string } };
export type CampaignVariantsDefined = { readonly type: 'CampaignVariantsDefined'; readonly data: CampaignVariants & { readonly definedAt: string } };
/** `at`: when it is to be sent (UTC instant); `timeZone`: the IANA zone it was planned in (for display). */
export type CampaignScheduled = { readonly type: 'CampaignScheduled'; readonly data: { readonly at: string; readonly timeZone: string; readonly scheduledAt: string } };
export type CampaignUnscheduled = { readonly type: 'CampaignUnscheduled'; readonly data: { readonly previousAt: string; readonly unscheduledAt: string } };
/** The hand-off to the launch saga. `scheduledFor`: the schedule that triggered it (null: launched by hand). */
export type CampaignLaunched = { readonly type: 'CampaignLaunched'; readonly data: { readonly at: string; readonly by: string; readonly scheduledFor: string | null } };
export type CampaignPaused = { readonly type: 'CampaignPaused'; readonly data: { readonly at: string; readonly reason: string | null } };
export type CampaignResumed = { readonly type: 'CampaignResumed'; readonly data: { readonly at: string } };
export type CampaignCompleted = { readonly type: 'CampaignCompleted'; readonly data: { readonly at: string; readonly counts: CampaignCompletionCounts } };
export type CampaignCancelled = { readonly type: 'CampaignCancelled'; readonly data: { readonly at: string; readonly reason: string | null } };
export type CampaignFailed = { readonly type: 'CampaignFailed'; readonly data: { readonly at: string; readonly reason: string } };
/** Where a compensated launch returns the campaign: draft, or scheduled again (at its old, usually past, time). */
export type CampaignLaunchRevert =
  | { readonly to: 'draft'; readonly scheduledAt: null; readonly timeZone: null; readonly reason: string }
  | { readonly to: 'scheduled'; readonly scheduledAt: string; readonly timeZone: string; readonly reason: string };
/** From the launch saga: the launch failed before the first email (preflight, empty audience); nothing was sent. */
export type CampaignLaunchReverted = { readonly type: 'CampaignLaunchReverted'; readonly data: CampaignLaunchRevert & { readonly at: string } };
/** `values`: the metric per variant key when the winner was chosen (may be empty for a choice by hand). */
export type CampaignWinnerChosen = {
  readonly type: 'CampaignWinnerChosen';
  readonly data: { readonly variantKey: string; readonly by: 'auto' | 'manual'; readonly metric: WinnerMetric; readonly values: Readonly<Record<string, number>>; readonly at: string };
};

export type CampaignEvent =
  | CampaignCreated
  | CampaignUpdated
  | CampaignVariantsDefined
  | CampaignScheduled
  | CampaignUnscheduled
  | CampaignLaunched
  | CampaignPaused
  | CampaignResumed
  | CampaignCompleted
  | CampaignCancelled
  | CampaignFailed
  | CampaignWinnerChosen
  | CampaignLaunchReverted;

export type CampaignEventType = CampaignEvent['type'];

/** The schema version each event type is written with today. */
export const CAMPAIGN_EVENT_SCHEMA_VERSIONS: Readonly<Record<CampaignEventType, number>> = {
  CampaignCreated: 1,
  CampaignUpdated: 1,
  CampaignVariantsDefined: 1,
  CampaignScheduled: 1,
  CampaignUnscheduled: 1,
  CampaignLaunched: 1,
  CampaignPaused: 1,
  CampaignResumed: 1,
  CampaignCompleted: 1,
  CampaignCancelled: 1,
  CampaignFailed: 1,
  CampaignWinnerChosen: 1,
  CampaignLaunchReverted: 1,
};

export const CAMPAIGN_EVENT_TYPES = Object.keys(CAMPAIGN_EVENT_SCHEMA_VERSIONS) as CampaignEventType[];

export const campaignSchemaVersionOf = (eventType: string): number => CAMPAIGN_EVENT_SCHEMA_VERSIONS[eventType as CampaignEventType] ?? 1;

/**
 * The upcaster path: a stored campaign event of any known schema version in today's shape. Every type is still
 * at version 1, so this only refuses versions it does not know (written by a newer engine).
 */
export function upcastCampaignEvent(event: { readonly type: string; readonly data: unknown }, schemaVersion: number): CampaignEvent {
  const current = CAMPAIGN_EVENT_SCHEMA_VERSIONS[event.type as CampaignEventType];
  if (current === undefined) throw new Error(`Not a campaign event: ${event.type}`);
  if (schemaVersion !== current) throw new Error(`${event.type} schema version ${schemaVersion} is unknown (this engine reads ${current})`);
  return event as CampaignEvent;
}

export const campaignStreamId = (campaignId: string): string => `campaign-${campaignId}`;
export const campaignIdOfStream = (streamId: string): string => streamId.slice('campaign-'.length);
