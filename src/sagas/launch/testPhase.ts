import type { CampaignWinner } from '../../domain/campaigns/state.js';
import { pickWinner, testPhaseOf } from '../../domain/campaigns/winner.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import { CAMPAIGN_STATS_PROJECTION } from '../../projections/campaigns/stats.js';
import { variantResults } from '../../projections/campaigns/winnerMetrics.js';
import { waitForProjection } from '../../projections/runner/queries.js';
import { senderDomainOf } from '../delivery/identifiers.js';
import { assignHoldout, sampleCountsOf, type LedgerTally } from './launchLedger.js';
import type { SagaRuntime } from './runtime.js';
import { loadCampaign, loadLaunch, runCampaignCommand, runLaunchCommand, sagaContext, stepIfCurrent, type LoadedCampaign, type LoadedLaunch } from './streams.js';

/**
 * The A/B test phase of a launch: the sample is sent (EndTestSample → testing), the winner is chosen (by hand
 * through the campaign's ChooseCampaignWinner, or here once decideAt has passed), and the holdout is sent the
 * winner (StartWinnerRound, then the held ledger rows become the winner's pending rows).
 *
 * Exactly once across any number of saga workers, as in the scheduler: every step is a command with a
 * deterministic command id naming the launch attempt (the campaign revision of its CampaignLaunched), so two
 * workers deciding the same step append it once (the loser finds its command id and gets the first result), and
 * the launch steps are also guarded by the launch stream's revision.
 */

/** The command id of the automatic winner of one launch attempt: every worker derives the same one. */
export const autoWinnerCommandId = (campaignId: string, campaignRevision: number): string => `campaign-winner:auto:${campaignId}:${campaignRevision}`;
export const winnerRoundCommandId = (campaignId: string, campaignRevision: number): string => `launch:winner-round:${campaignId}:${campaignRevision}`;

/** How long the automatic choice waits for the stats read model to count what the store holds (else: next poll). */
const STATS_CATCH_UP_MS = 5_000;

/** Every sample row settled: TestSampleSent with the sample's counts; the launch waits for the winner. */
export async function endTestSample(rt: SagaRuntime, launch: LoadedLaunch, tally: LedgerTally): Promise<void> {
  const { state } = launch;
  if (state.status !== 'delivering' || launch.workspaceId === null) return;
  const counts = sampleCountsOf(tally, state.audience.sampleSize ?? state.audience.size);
  const context = sagaContext(launch.workspaceId, `launch:end-sample:${launch.campaignId}:${state.plan.campaignRevision}`, launch.correlationId);
  const command = { type: 'EndTestSample' as const, data: { counts, at: rt.now().toISOString() } };
  if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, command, context, launch.revision)))) return;
  rt.logger.info({ correlationId: launch.correlationId, campaignId: launch.campaignId, counts, holdout: tally.held }, 'launch: test sample sent; the holdout waits for the winner');
}

/**
 * A launch in testing: starts the winner round when the campaign has a winner, after choosing one automatically
 * when decideAt has passed. Returns true when the winner round is being delivered (the caller starts delivery).
 */
export async function driveTestPhase(rt: SagaRuntime, launch: LoadedLaunch): Promise<boolean> {
  const { state } = launch;
  if (state.status !== 'testing' || launch.workspaceId === null) return false;
  const campaign = await loadCampaign(rt.eventStore, launch.campaignId);
  if (campaign.launchedAt !== state.plan.campaignRevision || campaign.state.status === 'none') return false;
  let winner = campaign.state.winner;
  const decideAt = state.test.decideAt;
  if (winner === null && decideAt !== null && Date.parse(decideAt) <= rt.now().getTime()) winner = await chooseAutomatically(rt, launch, campaign);
  if (winner === null) return false;
  return startWinnerRound(rt, launch, winner.variantKey, winner.by);
}

/** CampaignWinnerChosen (the follower): the winner round of the launch attempt it belongs to. */
export async function followWinner(rt: SagaRuntime, chosen: RecordedEvent, campaignId: string): Promise<boolean> {
  const launch = await loadLaunch(rt.eventStore, campaignId);
  if (launch.state.status !== 'testing' || launch.workspaceId !== chosen.metadata.workspaceId) return false;
  const campaign = await loadCampaign(rt.eventStore, campaignId);
  if (campaign.launchedAt !== launch.state.plan.campaignRevision || campaign.state.status === 'none' || campaign.state.winner === null) return false;
  return startWinnerRound(rt, launch, campaign.state.winner.variantKey, campaign.state.winner.by);
}

/**
 * ChooseCampaignWinner by 'auto' from the sample's results (the campaign stats read model, once it has counted
 * everything the store held when the decision was taken). Returns the campaign's winner afterwards: this one, or
 * one chosen meanwhile (by hand, or by another worker: the same command id decides once).
 */
async function chooseAutomatically(rt: SagaRuntime, launch: LoadedLaunch, campaign: LoadedCampaign): Promise<CampaignWinner | null> {
  if (campaign.state.status === 'none' || launch.state.status === 'none' || launch.workspaceId === null) return null;
  const test = testPhaseOf(campaign.state.variants);
  if (test === null || test.winnerAfterHours === null) return null;
  const log = rt.logger.child({ correlationId: launch.correlationId, campaignId: launch.campaignId });
  const head = await rt.eventStore.headPosition();
  if (head !== null && !(await waitForProjection(rt.db, CAMPAIGN_STATS_PROJECTION, head, STATS_CATCH_UP_MS))) {
    log.warn({ head: head.toString() }, 'the campaign stats are behind the event store; the winner is chosen at the next poll');
    return null;
  }
  const { variantKey, values } = pickWinner(await variantResults(rt.db, launch.workspaceId, launch.campaignId, test));
  const context = sagaContext(launch.workspaceId, autoWinnerCommandId(launch.campaignId, launch.state.plan.campaignRevision), launch.correlationId);
  try {
    await runCampaignCommand(rt.eventStore, launch.campaignId, { type: 'ChooseCampaignWinner', data: { variantKey, by: 'auto', values, at: rt.now().toISOString() } }, context);
    log.info({ variantKey, metric: test.winnerMetric, values }, 'launch: A/B winner chosen automatically');
  } catch (error) {
    // A winner chosen by hand meanwhile, or the campaign cancelled: its aggregate's answer stands.
    if (!(error instanceof DomainError)) throw error;
    log.debug({ code: error.code, reason: error.message }, 'automatic winner not recorded');
  }
  const after = await loadCampaign(rt.eventStore, launch.campaignId);
  return after.state.status === 'none' || after.launchedAt !== launch.state.plan.campaignRevision ? null : after.state.winner;
}

/** WinnerRoundStarted, then the holdout's rows become the winner's. Returns whether the winner round is on. */
async function startWinnerRound(rt: SagaRuntime, launch: LoadedLaunch, variantKey: string, by: 'auto' | 'manual'): Promise<boolean> {
  if (launch.state.status !== 'testing' || launch.workspaceId === null) return false;
  const { plan } = launch.state;
  const context = sagaContext(launch.workspaceId, winnerRoundCommandId(launch.campaignId, plan.campaignRevision), launch.correlationId);
  const command = { type: 'StartWinnerRound' as const, data: { variantKey, by, at: rt.now().toISOString() } };
  try {
    if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, command, context, launch.revision)))) return false;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    rt.logger.error({ err: error, correlationId: launch.correlationId, campaignId: launch.campaignId, variantKey }, 'the winner round cannot start');
    return false;
  }
  const moved = await assignHoldout(rt.db, launch.campaignId, variantKey, senderDomainOf(plan.sender.email));
  rt.logger.info({ correlationId: launch.correlationId, campaignId: launch.campaignId, variantKey, by, holdout: moved }, 'launch: winner round started');
  return true;
}

/** In the winner round, held rows not yet moved (a worker died between WinnerRoundStarted and the move). */
export async function finishHoldoutAssignment(rt: SagaRuntime, launch: LoadedLaunch): Promise<number> {
  const { state } = launch;
  if (state.status !== 'delivering' || state.winner === null) return 0;
  return assignHoldout(rt.db, launch.campaignId, state.winner, senderDomainOf(state.plan.sender.email));
}
