import { campaignIdOfStream } from '../../domain/campaigns/events.js';
import type { ExistingCampaign } from '../../domain/campaigns/state.js';
import { testPhaseOf } from '../../domain/campaigns/winner.js';
import { SINGLE_VARIANT_KEY, type AudienceExclusions, type LaunchStep, type LaunchVariant, type PreviousCampaignStatus } from '../../domain/launches/events.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import { AudienceAlreadyDeliveringError, freezeAudience } from './audience.js';
import { syncCampaign } from './campaignSync.js';
import { countsOf, releasePending, renderTallyOf, tallyLedger } from './launchLedger.js';
import { recordRoundOutcomes } from './outcomes.js';
import { preflight } from './preflight.js';
import { withLaunchLock, type SagaRuntime } from './runtime.js';
import { foldCampaign, loadCampaign, loadLaunch, runLaunchCommand, sagaContext, stepIfCurrent, type LoadedLaunch } from './streams.js';
import { driveTestPhase } from './testPhase.js';
import { StepTimeoutError } from './timeouts.js';
import { isTerminal, roundOf, type LaunchCommand, type LaunchPlan } from './workflow.js';

/**
 * The launch's orchestration steps (everything but the delivery rounds, see delivery.ts). Each step is a command
 * on the launch stream with a deterministic command id, decided from the revision the step read: repeating a
 * step, or two workers taking the same one, appends it once.
 */

// Reactions to the campaign (the follower calls these for CampaignLaunched / Paused / Resumed / Cancelled; for
// CampaignWinnerChosen it calls testPhase.ts's followWinner)

/** CampaignLaunched → LaunchStarted, if the campaign is still in that launch. Returns whether a launch runs. */
export async function startLaunch(rt: SagaRuntime, launched: RecordedEvent): Promise<boolean> {
  const campaignId = campaignIdOfStream(launched.streamId);
  const campaign = await loadCampaign(rt.eventStore, campaignId);
  if (campaign.workspaceId !== launched.metadata.workspaceId || campaign.launchedAt !== launched.revision) return false;
  if (campaign.state.status !== 'running' && campaign.state.status !== 'paused') return false;
  const before = foldCampaign(campaign.events.filter((e) => e.revision < launched.revision));
  const atLaunch = foldCampaign(campaign.events.filter((e) => e.revision <= launched.revision));
  if (before.status === 'none' || atLaunch.status === 'none') return false;
  let plan: LaunchPlan;
  try {
    plan = planOf(atLaunch, previousStatusOf(before), launched);
  } catch (error) {
    // Not retryable: the campaign aggregate let through a launch the saga cannot send. Reported, not looped on.
    rt.logger.error({ err: error, correlationId: launched.metadata.correlationId, campaignId }, 'campaign launch cannot be started');
    return false;
  }
  const context = sagaContext(campaign.workspaceId, `launch:start:${campaignId}:${launched.revision}`, launched.metadata.correlationId, launched.id);
  return applyReaction(rt, campaignId, { type: 'StartLaunch', data: plan }, context);
}

export async function pauseLaunch(rt: SagaRuntime, paused: RecordedEvent): Promise<void> {
  const campaignId = campaignIdOfStream(paused.streamId);
  const reason = (paused.data as { reason?: string | null }).reason ?? null;
  const tally = renderTallyOf(await tallyLedger(rt.db, campaignId));
  await react(rt, paused, { type: 'PauseLaunch', data: { by: 'user', reason, tally, at: rt.now().toISOString() } }, 'pause');
}

export async function resumeLaunch(rt: SagaRuntime, resumed: RecordedEvent): Promise<void> {
  await react(rt, resumed, { type: 'ResumeLaunch', data: { at: rt.now().toISOString() } }, 'resume');
}

/** Cancel: the rows not yet handed to SMTP are released first (a worker holding a claim on one cannot send it). */
export async function cancelLaunch(rt: SagaRuntime, cancelled: RecordedEvent): Promise<void> {
  const campaignId = campaignIdOfStream(cancelled.streamId);
  const launch = await loadLaunch(rt.eventStore, campaignId);
  if (launch.state.status === 'none' || isTerminal(launch.state)) return;
  await releasePending(rt.db, campaignId);
  const audience = 'audience' in launch.state && launch.state.audience !== null ? launch.state.audience.size : 0;
  const counts = countsOf(await tallyLedger(rt.db, campaignId), audience);
  const reason = (cancelled.data as { reason?: string | null }).reason ?? null;
  await react(rt, cancelled, { type: 'CancelLaunch', data: { reason, counts, at: rt.now().toISOString() } }, 'cancel');
}

async function react(rt: SagaRuntime, cause: RecordedEvent, command: LaunchCommand, step: string): Promise<void> {
  const campaignId = campaignIdOfStream(cause.streamId);
  const launch = await loadLaunch(rt.eventStore, campaignId);
  if (launch.state.status === 'none' || launch.workspaceId !== cause.metadata.workspaceId) return;
  await applyReaction(rt, campaignId, command, sagaContext(launch.workspaceId, `launch:${step}:${cause.id}`, launch.correlationId, cause.id));
}

async function applyReaction(rt: SagaRuntime, campaignId: string, command: LaunchCommand, context: ReturnType<typeof sagaContext>): Promise<boolean> {
  try {
    const result = await runLaunchCommand(rt.eventStore, campaignId, command, context);
    if (result.events.length > 0 && !result.duplicate) rt.logger.info({ correlationId: context.correlationId, campaignId, events: result.events.map((e) => e.type) }, `launch: ${command.type}`);
    return true;
  } catch (error) {
    // E.g. a pause arriving after the launch completed: the launch's answer stands.
    if (!(error instanceof DomainError)) throw error;
    rt.logger.debug({ correlationId: context.correlationId, campaignId, code: error.code, reason: error.message }, `launch: ${command.type} refused`);
    return false;
  }
}

function previousStatusOf(before: ExistingCampaign): PreviousCampaignStatus {
  return before.status === 'scheduled' ? { status: 'scheduled', scheduledAt: before.scheduledAt, timeZone: before.timeZone } : { status: 'draft' };
}

function planOf(campaign: ExistingCampaign, previousStatus: PreviousCampaignStatus, launched: RecordedEvent): LaunchPlan {
  const { settings, variants } = campaign;
  if (settings.segmentId === null || settings.sender === null) throw new Error(`campaign ${campaign.campaignId} was launched without a segment or sender`);
  let planned: LaunchVariant[];
  if (variants !== null) planned = variants.variants.map(({ key, templateId, templateVersion, subject, splitPercent }) => ({ key, templateId, templateVersion, subject, splitPercent }));
  else if (settings.templateId !== null && settings.templateVersion !== null) planned = [{ key: SINGLE_VARIANT_KEY, templateId: settings.templateId, templateVersion: settings.templateVersion, subject: null, splitPercent: 100 }];
  else throw new Error(`campaign ${campaign.campaignId} was launched without a template`);
  const at = (launched.data as { at?: string }).at ?? launched.recordedAt.toISOString();
  const test = testPhaseOf(variants);
  return {
    campaignId: campaign.campaignId,
    campaignRevision: launched.revision,
    previousStatus,
    campaignName: settings.name,
    segmentId: settings.segmentId,
    topic: settings.topic,
    sender: settings.sender,
    replyTo: settings.replyTo,
    variants: planned,
    ...(test === null ? {} : { testPhase: { samplePercent: test.testSamplePercent, winnerMetric: test.winnerMetric, winnerAfterHours: test.winnerAfterHours } }),
    at,
  };
}

// Happy path: preflight → audience → DeliveryStarted (one worker at a time per launch)

/** Drives a launch that is not delivering one step on; `deliver` starts the delivery rounds. */
export async function driveLaunch(rt: SagaRuntime, campaignId: string, deliver: (campaignId: string) => void): Promise<void> {
  const launch = await loadLaunch(rt.eventStore, campaignId);
  switch (launch.state.status) {
    case 'none':
      return;
    case 'started':
      await withLaunchLock(rt, campaignId, () => prepare(rt, campaignId, deliver));
      return;
    case 'frozen':
      if (await startDelivery(rt, launch)) deliver(campaignId);
      return;
    case 'delivering':
      deliver(campaignId);
      return;
    case 'testing':
      if (await driveTestPhase(rt, launch)) deliver(campaignId);
      return;
    case 'paused':
      await syncCampaign(rt, launch);
      return;
    default:
      await tidy(rt, launch);
  }
}

async function prepare(rt: SagaRuntime, campaignId: string, deliver: (campaignId: string) => void): Promise<void> {
  const launch = await loadLaunch(rt.eventStore, campaignId);
  if (launch.state.status !== 'started' || launch.workspaceId === null) return;
  const { plan } = launch.state;
  const log = rt.logger.child({ correlationId: launch.correlationId, campaignId });
  const checked = await preflight({ eventStore: rt.eventStore, db: rt.db, sender: rt.sender, render: rt.render, timeoutMs: rt.settings.preflightTimeoutMs }, plan, launch.workspaceId);
  if (!checked.ok) return compensate(rt, launch, 'preflight', checked.reason);

  let frozen;
  try {
    const samplePercent = plan.testPhase?.samplePercent ?? null;
    const request = { workspaceId: launch.workspaceId, campaignId, segmentId: plan.segmentId, topic: plan.topic, senderEmail: plan.sender.email, variants: plan.variants, samplePercent };
    frozen = await freezeAudience(rt.db, { ...request, timeoutMs: rt.settings.freezeTimeoutMs });
  } catch (error) {
    if (error instanceof StepTimeoutError) return compensate(rt, launch, 'audience', error.message);
    if (error instanceof AudienceAlreadyDeliveringError) return fail(rt, launch, error.message);
    throw error;
  }
  if (frozen.size === 0) return compensate(rt, launch, 'audience', emptyAudienceReason(plan.segmentId, frozen.excluded));
  const freeze: LaunchCommand = { type: 'FreezeAudience', data: { ...frozen, at: rt.now().toISOString() } };
  const freezeContext = sagaContext(launch.workspaceId, `launch:freeze:${campaignId}:${plan.campaignRevision}`, launch.correlationId);
  // Paused or cancelled meanwhile: the rows stay pending; a resume freezes again, a cancel releases them.
  if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, campaignId, freeze, freezeContext, launch.revision)))) return;
  log.info({ audienceSize: frozen.size, variantSizes: frozen.variantSizes, sampleSize: frozen.sampleSize, holdoutSize: frozen.holdoutSize, excluded: frozen.excluded, hash: frozen.hash }, 'launch: audience frozen');
  if (await startDelivery(rt, await loadLaunch(rt.eventStore, campaignId))) deliver(campaignId);
}

/** DeliveryStarted, the point of no return, recorded before the first send. */
async function startDelivery(rt: SagaRuntime, launch: LoadedLaunch): Promise<boolean> {
  if (launch.state.status !== 'frozen' || launch.workspaceId === null) return launch.state.status === 'delivering';
  const context = sagaContext(launch.workspaceId, `launch:deliver:${launch.campaignId}:${launch.state.plan.campaignRevision}`, launch.correlationId);
  return stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, { type: 'StartDelivery', data: { at: rt.now().toISOString() } }, context, launch.revision));
}

function emptyAudienceReason(segmentId: string, excluded: AudienceExclusions): string {
  const parts = Object.entries(excluded).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why}`);
  return `the audience of segment ${segmentId} is empty${parts.length === 0 ? '' : ` (excluded: ${parts.join(', ')})`}`;
}

// Compensation (before DeliveryStarted) and the other ends

/** LaunchCompensated, then the audience released and the campaign returned to its previous status. */
async function compensate(rt: SagaRuntime, launch: LoadedLaunch, step: LaunchStep, reason: string): Promise<void> {
  if (launch.state.status === 'none' || launch.workspaceId === null) return;
  const context = sagaContext(launch.workspaceId, `launch:compensate:${launch.campaignId}:${launch.state.plan.campaignRevision}`, launch.correlationId);
  const command: LaunchCommand = { type: 'CompensateLaunch', data: { reason, step, at: rt.now().toISOString() } };
  if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, command, context, launch.revision)))) return;
  rt.logger.warn({ correlationId: launch.correlationId, campaignId: launch.campaignId, step, reason }, 'launch compensated; nothing was sent');
  await tidy(rt, await loadLaunch(rt.eventStore, launch.campaignId));
}

/** LaunchFailed: sending cannot go on (the campaign is failed too); what was not sent is released. */
export async function fail(rt: SagaRuntime, launch: LoadedLaunch, reason: string): Promise<void> {
  if (launch.state.status === 'none' || launch.workspaceId === null) return;
  const audience = 'audience' in launch.state && launch.state.audience !== null ? launch.state.audience.size : 0;
  const counts = countsOf(await tallyLedger(rt.db, launch.campaignId), audience);
  const context = sagaContext(launch.workspaceId, `launch:fail:${launch.campaignId}:${launch.state.plan.campaignRevision}`, launch.correlationId);
  const command: LaunchCommand = { type: 'FailLaunch', data: { reason, counts, at: rt.now().toISOString() } };
  if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, command, context, launch.revision)))) return;
  rt.logger.error({ correlationId: launch.correlationId, campaignId: launch.campaignId, reason }, 'launch failed');
  await tidy(rt, await loadLaunch(rt.eventStore, launch.campaignId));
}

/**
 * After the end (and again on every recovery pass): rows of a launch that ended early are released, sends that
 * were in doubt are reconciled, late outcomes recorded, and the campaign synced. All idempotent.
 */
export async function tidy(rt: SagaRuntime, launch: LoadedLaunch): Promise<void> {
  const { state, campaignId } = launch;
  if (state.status === 'none') return;
  if (state.status === 'cancelled' || state.status === 'compensated' || state.status === 'failed') await releasePending(rt.db, campaignId);
  await rt.ledger.reconcileSending(rt.reconciler, { campaignId, staleAfterMs: rt.settings.staleSendingAfterMs });
  await recordRoundOutcomes({ eventStore: rt.eventStore, ledger: rt.ledger, campaignId, correlationId: launch.correlationId, round: Math.max(1, roundOf(state)) });
  await syncCampaign(rt, launch);
}
