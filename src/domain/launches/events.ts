/**
 * Launch events (stream `launch-<campaignId>`): the launch saga's own record of one campaign's send, from the
 * hand-off (CampaignLaunched) to its end. Times are ISO-8601 strings chosen by the saga. A campaign whose launch
 * was compensated can be launched again: the next LaunchStarted opens a new attempt in the same stream.
 */

import type { Sender, WinnerMetric } from '../campaigns/events.js';

/** One variant as it is sent: a campaign without A/B variants sends one variant, key `main`, at 100 %. */
export interface LaunchVariant {
  readonly key: string;
  readonly templateId: string;
  readonly templateVersion: number;
  /** Replaces the template's subject (Liquid); null: the template's own. */
  readonly subject: string | null;
  readonly splitPercent: number;
}

/**
 * The A/B test phase of a launch: `samplePercent` of the audience is split over the variants and sent first; the
 * rest (the holdout) is held in the ledger until a winner is chosen, automatically `winnerAfterHours` after the
 * sample was sent (null: by hand), and then receives the winner.
 */
export interface LaunchTestPlan {
  readonly samplePercent: number;
  readonly winnerMetric: WinnerMetric;
  readonly winnerAfterHours: number | null;
}

/** Where a compensated launch returns the campaign to (the status before CampaignLaunched). */
export type PreviousCampaignStatus =
  | { readonly status: 'draft' }
  | { readonly status: 'scheduled'; readonly scheduledAt: string; readonly timeZone: string };

/** What the ledger says at the end of a launch (or of a resend round). */
export interface LaunchCounts {
  readonly audience: number;
  readonly sent: number;
  /** Refused by the provider (5xx, or 4xx until attempts ran out). */
  readonly failed: number;
  readonly renderFailed: number;
  /** Accepted or not, nobody can tell (crash window without a reconciler): never resent automatically. */
  readonly unknown: number;
  /** Never sent because the launch was cancelled. */
  readonly cancelled: number;
}

/** Who excluded whom when the audience was frozen. */
export interface AudienceExclusions {
  /** Not subscribed to the campaign's topic (unsubscribed, or never subscribed). */
  readonly unsubscribed: number;
  readonly suppressed: number;
  /** Merged into another contact. */
  readonly merged: number;
  /** A second contact with the same normalized email (the smallest contact id is kept). */
  readonly duplicateEmail: number;
}

/** Attempts and render failures counted from the ledger; the render-failure threshold compares against it. */
export interface RenderTally {
  readonly attempted: number;
  readonly renderFailed: number;
}

export type LaunchStarted = {
  readonly type: 'LaunchStarted';
  readonly data: {
    readonly campaignId: string;
    /** The campaign stream's revision of its CampaignLaunched: names this launch attempt. */
    readonly campaignRevision: number;
    readonly previousStatus: PreviousCampaignStatus;
    readonly campaignName: string;
    readonly segmentId: string;
    /** The consent topic recipients must be subscribed to (null: any topic). */
    readonly topic: string | null;
    readonly sender: Sender;
    readonly replyTo: string | null;
    readonly variants: readonly LaunchVariant[];
    /** Absent (events before the test phase existed) or null: every recipient is sent their variant at once. */
    readonly testPhase?: LaunchTestPlan | null;
    readonly at: string;
  };
};

export type AudienceFrozen = {
  readonly type: 'AudienceFrozen';
  readonly data: {
    readonly campaignId: string;
    readonly audienceSize: number;
    /** Per variant key (the test sample's, with a test phase); null for a campaign without A/B variants. */
    readonly variantSizes: Readonly<Record<string, number>> | null;
    /**
     * With a test phase only (absent otherwise, and in older events: read as sample = audienceSize, holdout = 0):
     * the recipients split over the variants now, and those held back for the winner. They sum to audienceSize.
     */
    readonly sampleSize?: number;
    readonly holdoutSize?: number;
    /** sha256 (hex) of the audience as `<contactId>:<variantKey>\n` lines sorted by contact id. */
    readonly hash: string;
    readonly excluded: AudienceExclusions;
    readonly at: string;
  };
};

/** The point of no return: recorded before the first email is handed to SMTP. Compensation ends here. */
export type DeliveryStarted = { readonly type: 'DeliveryStarted'; readonly data: { readonly campaignId: string; readonly at: string } };

export type LaunchPauser = 'user' | 'circuit' | 'render_failures';

export type LaunchPaused = {
  readonly type: 'LaunchPaused';
  readonly data: { readonly campaignId: string; readonly reason: string | null; readonly by: LaunchPauser; readonly tally: RenderTally; readonly at: string };
};

export type LaunchResumed = { readonly type: 'LaunchResumed'; readonly data: { readonly campaignId: string; readonly at: string } };

export type LaunchCompleted = { readonly type: 'LaunchCompleted'; readonly data: { readonly campaignId: string; readonly round: number; readonly counts: LaunchCounts; readonly at: string } };

export type LaunchCancelled = { readonly type: 'LaunchCancelled'; readonly data: { readonly campaignId: string; readonly reason: string | null; readonly counts: LaunchCounts; readonly at: string } };

export type LaunchStep = 'preflight' | 'audience';

/** Before the first email: the audience was released and the campaign returned to its previous status. */
export type LaunchCompensated = { readonly type: 'LaunchCompensated'; readonly data: { readonly campaignId: string; readonly reason: string; readonly step: LaunchStep; readonly at: string } };

export type LaunchFailed = { readonly type: 'LaunchFailed'; readonly data: { readonly campaignId: string; readonly reason: string; readonly counts: LaunchCounts; readonly at: string } };

/** Failed recipients go back to pending for send round `round` (2, 3, ...); `tally` is the threshold's new baseline. */
export type ResendToFailedStarted = {
  readonly type: 'ResendToFailedStarted';
  readonly data: { readonly campaignId: string; readonly count: number; readonly round: number; readonly tally: RenderTally; readonly at: string };
};

/**
 * The test sample is sent (every sample row settled); the holdout waits for the winner. `decideAt`: when the winner
 * is chosen automatically (the sample's end + winnerAfterHours), null when it is picked by hand.
 */
export type TestSampleSent = {
  readonly type: 'TestSampleSent';
  readonly data: { readonly campaignId: string; readonly counts: LaunchCounts; readonly decideAt: string | null; readonly at: string };
};

/** The winner is known (CampaignWinnerChosen): the holdout is sent the winner's variant in send round `round`. */
export type WinnerRoundStarted = {
  readonly type: 'WinnerRoundStarted';
  readonly data: { readonly campaignId: string; readonly variantKey: string; readonly by: 'auto' | 'manual'; readonly holdoutSize: number; readonly round: number; readonly at: string };
};

export type LaunchEvent =
  | LaunchStarted
  | AudienceFrozen
  | DeliveryStarted
  | LaunchPaused
  | LaunchResumed
  | LaunchCompleted
  | LaunchCancelled
  | LaunchCompensated
  | LaunchFailed
  | ResendToFailedStarted
  | TestSampleSent
  | WinnerRoundStarted;

export type LaunchEventType = LaunchEvent['type'];

/** The schema version each event type is written with today. */
export const LAUNCH_EVENT_SCHEMA_VERSIONS: Readonly<Record<LaunchEventType, number>> = {
  LaunchStarted: 1,
  AudienceFrozen: 1,
  DeliveryStarted: 1,
  LaunchPaused: 1,
  LaunchResumed: 1,
  LaunchCompleted: 1,
  LaunchCancelled: 1,
  LaunchCompensated: 1,
  LaunchFailed: 1,
  ResendToFailedStarted: 1,
  TestSampleSent: 1,
  WinnerRoundStarted: 1,
};

export const LAUNCH_EVENT_TYPES = Object.keys(LAUNCH_EVENT_SCHEMA_VERSIONS) as LaunchEventType[];

export const launchSchemaVersionOf = (eventType: string): number => LAUNCH_EVENT_SCHEMA_VERSIONS[eventType as LaunchEventType] ?? 1;

/** The upcaster path: every type is at version 1, so this only refuses versions written by a newer engine. */
export function upcastLaunchEvent(event: { readonly type: string; readonly data: unknown }, schemaVersion: number): LaunchEvent {
  const current = LAUNCH_EVENT_SCHEMA_VERSIONS[event.type as LaunchEventType];
  if (current === undefined) throw new Error(`Not a launch event: ${event.type}`);
  if (schemaVersion !== current) throw new Error(`${event.type} schema version ${schemaVersion} is unknown (this engine reads ${current})`);
  return event as LaunchEvent;
}

export const launchStreamId = (campaignId: string): string => `launch-${campaignId}`;
export const campaignIdOfLaunchStream = (streamId: string): string => streamId.slice('launch-'.length);

/** The variant key of a campaign without A/B variants. */
export const SINGLE_VARIANT_KEY = 'main';

/**
 * The variant key of a holdout recipient until the winner is known (ledger status 'held'). Not a valid variant
 * key (those are letters, digits, _ and -), so it can never name a real variant.
 */
export const HOLDOUT_VARIANT_KEY = '~holdout';
