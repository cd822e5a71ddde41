import type { Kysely } from 'kysely';
import type { WinnerMetric } from '../../domain/campaigns/events.js';
import type { CampaignWinner } from '../../domain/campaigns/state.js';
import { type AudienceExclusions, type LaunchCounts, type LaunchPauser, type TestSampleSent, type WinnerRoundStarted } from '../../domain/launches/events.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import { tallyLedger, type LedgerTally } from './launchLedger.js';
import { loadCampaign, loadLaunch } from './streams.js';
import { roundOf, type LaunchStatus } from './workflow.js';

/** A launch as the dashboard sees it: its state from the launch stream, its live counts from the ledger. */
export interface LaunchView {
  readonly campaignId: string;
  readonly status: Exclude<LaunchStatus, 'none'>;
  readonly round: number;
  readonly startedAt: string;
  readonly audienceSize: number | null;
  readonly audienceHash: string | null;
  readonly variantSizes: Readonly<Record<string, number>> | null;
  readonly excluded: AudienceExclusions | null;
  readonly pause: { readonly by: LaunchPauser; readonly reason: string | null; readonly at: string } | null;
  /** Why it was compensated, cancelled or failed. */
  readonly endReason: string | null;
  /** The counts recorded when it ended (null while it runs). */
  readonly finalCounts: LaunchCounts | null;
  readonly ledger: LedgerTally;
  /** The A/B test phase; null for a launch without one. */
  readonly testPhase: TestPhaseView | null;
}

export interface TestPhaseView {
  readonly samplePercent: number;
  readonly winnerMetric: WinnerMetric;
  readonly winnerAfterHours: number | null;
  /** Null until the audience is frozen. */
  readonly sampleSize: number | null;
  readonly holdoutSize: number | null;
  /** When the sample was sent (null before), and when the winner is chosen automatically (null: by hand, or not yet known). */
  readonly sampleSentAt: string | null;
  readonly decideAt: string | null;
  /** The campaign's winner with each variant's metric value when it was chosen (null: not chosen yet). */
  readonly winner: CampaignWinner | null;
  /** When the holdout started receiving the winner (null before). */
  readonly winnerRoundStartedAt: string | null;
}

/** The workspace's launch of a campaign, or null. */
export async function findLaunch(eventStore: EventStore, db: Kysely<Database>, workspaceId: string, campaignId: string): Promise<LaunchView | null> {
  const launch = await loadLaunch(eventStore, campaignId);
  const { state } = launch;
  if (state.status === 'none' || launch.workspaceId !== workspaceId) return null;
  const { events } = launch;
  const attemptStart = events.findLast((e) => e.type === 'LaunchStarted')?.revision ?? 0;
  const frozen = events.findLast((e) => e.type === 'AudienceFrozen' && e.revision > attemptStart)?.data as
    | { audienceSize: number; hash: string; variantSizes: Record<string, number> | null; excluded: AudienceExclusions; sampleSize?: number; holdoutSize?: number }
    | undefined;
  const test = state.plan.testPhase ?? null;
  let testPhase: TestPhaseView | null = null;
  if (test !== null) {
    const sent = events.findLast((e) => e.type === 'TestSampleSent' && e.revision > attemptStart)?.data as TestSampleSent['data'] | undefined;
    const round = events.findLast((e) => e.type === 'WinnerRoundStarted' && e.revision > attemptStart)?.data as WinnerRoundStarted['data'] | undefined;
    const campaign = await loadCampaign(eventStore, campaignId);
    const winner = campaign.state.status !== 'none' && campaign.launchedAt === state.plan.campaignRevision ? campaign.state.winner : null;
    testPhase = {
      ...test,
      sampleSize: frozen === undefined ? null : (frozen.sampleSize ?? frozen.audienceSize),
      holdoutSize: frozen === undefined ? null : (frozen.holdoutSize ?? 0),
      sampleSentAt: sent?.at ?? null,
      decideAt: sent?.decideAt ?? null,
      winner,
      winnerRoundStartedAt: round?.at ?? null,
    };
  }
  return {
    campaignId,
    status: state.status,
    round: roundOf(state),
    startedAt: state.plan.at,
    audienceSize: frozen?.audienceSize ?? null,
    audienceHash: frozen?.hash ?? null,
    variantSizes: frozen?.variantSizes ?? null,
    excluded: frozen?.excluded ?? null,
    pause: state.status === 'paused' ? state.pause : null,
    endReason: state.status === 'compensated' || state.status === 'cancelled' || state.status === 'failed' ? state.reason : null,
    finalCounts: 'counts' in state ? state.counts : null,
    ledger: await tallyLedger(db, campaignId),
    testPhase,
  };
}
