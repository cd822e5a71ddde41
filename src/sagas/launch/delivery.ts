import type { LaunchPauser } from '../../domain/launches/events.js';
import { deliverBatch, type RenderedEmail } from '../delivery/deliver.js';
import type { DeliveryLedgerRow } from '../delivery/ledger.js';
import type { EmailSender } from '../delivery/smtpSender.js';
import { syncCampaign } from './campaignSync.js';
import { countsOf, releaseStaleClaims, renderTallyOf, tallyLedger, type LedgerTally } from './launchLedger.js';
import { recordRoundOutcomes } from './outcomes.js';
import { fail } from './orchestration.js';
import { ledgerRenderer, loadVariantContents, MissingTemplateVersionError } from './rendering.js';
import type { SagaRuntime } from './runtime.js';
import { loadLaunch, runLaunchCommand, sagaContext, stepIfCurrent, type LoadedLaunch } from './streams.js';
import { endTestSample, finishHoldoutAssignment } from './testPhase.js';
import { sleep } from './timeouts.js';
import { linkTo, withSpan } from '../../infra/spans.js';
import { renderFailuresExceeded } from './renderThreshold.js';

/**
 * The delivery rounds of one launch on this worker. Any number of workers run them for the same launch: the
 * ledger hands each pending row to one of them (FOR UPDATE SKIP LOCKED claims), and the orchestration steps
 * taken from here (pause, complete) are guarded by the launch stream's revision and deterministic command ids.
 *
 * Before every batch claim the launch stream is read again: a pause, cancel or completion recorded meanwhile stops
 * this loop before it claims anything more, so at most the batch in flight is still sent after a pause.
 *
 * With an A/B test phase, round 1 sends the sample; when only held rows are left it ends with EndTestSample
 * instead of completing (the holdout waits, testPhase.ts). The winner round moves the held rows to the winner.
 */
export async function deliverLaunch(rt: SagaRuntime, campaignId: string, stopping: () => boolean): Promise<void> {
  const sender = rt.sender;
  // Without an SMTP provider this worker leaves delivery to workers that have one (said once at start-up).
  if (sender === null) return;
  let render: ((row: DeliveryLedgerRow) => Promise<RenderedEmail>) | null = null;
  let holdoutChecked = false;
  for (;;) {
    if (stopping()) return;
    const launch = await loadLaunch(rt.eventStore, campaignId);
    const { state } = launch;
    if (state.status !== 'delivering' || launch.workspaceId === null) return;
    const log = rt.logger.child({ correlationId: launch.correlationId, campaignId, round: state.round });
    if (render === null) {
      try {
        render = ledgerRenderer(rt.db, state.plan, await loadVariantContents(rt.eventStore, launch.workspaceId, state.plan.variants), rt.render);
      } catch (error) {
        // The pinned version was there at preflight; without it nobody can be sent to.
        if (error instanceof MissingTemplateVersionError) return fail(rt, launch, error.message);
        throw error;
      }
    }

    // The winner round of a worker that died before it moved the holdout to the winner's variant.
    if (!holdoutChecked) {
      await finishHoldoutAssignment(rt, launch);
      holdoutChecked = true;
    }

    // Crash recovery, every round: claims of a dead worker are given up, sends left in doubt are reconciled.
    await releaseStaleClaims(rt.db, campaignId, rt.settings.claimLeaseMs);
    const reconciled = await rt.ledger.reconcileSending(rt.reconciler, { campaignId, staleAfterMs: rt.settings.staleSendingAfterMs });
    if (reconciled.sent.length + reconciled.requeued.length + reconciled.unknown.length > 0) log.warn({ reconciled: { sent: reconciled.sent.length, requeued: reconciled.requeued.length, unknown: reconciled.unknown.length } }, 'settled sends left in doubt');

    if (circuitOpen(sender)) {
      // Cooling down (e.g. resumed right after an outage): claim nothing until a probe may go out.
      await sleep(rt.settings.idleDelayMs);
      continue;
    }
    // Its own trace per round (a launch's delivery is long), linked to the launch request's trace.
    const started = linkTo(launch.events.findLast((e) => e.type === 'LaunchStarted')?.metadata.traceparent);
    const report = await withSpan('saga launch delivery', { 'campaign.id': campaignId, 'launch.round': state.round, 'correlation.id': launch.correlationId }, () => deliverBatch({ ledger: rt.ledger, sender, campaignId, workerId: rt.workerId, batchSize: rt.settings.batchSize, render: render!, logger: rt.logger }), { root: true, links: started === undefined ? [] : [started] });
    await recordRoundOutcomes({ eventStore: rt.eventStore, ledger: rt.ledger, campaignId, correlationId: launch.correlationId, round: state.round });
    const tally = await tallyLedger(rt.db, campaignId);
    if (report.claimed > 0) log.debug({ report }, 'delivery batch');

    // Only a circuit still open after the batch: a half-open probe that succeeded closed it again (the rows that
    // failed fast meanwhile went back to pending and go out with the next batch).
    if (report.circuitOpen && circuitOpen(sender)) return pause(rt, launch, 'circuit', 'the SMTP circuit is open (the provider keeps failing)', tally);
    const now = renderTallyOf(tally);
    if (renderFailuresExceeded(state.baseline, now, rt.settings.renderFailureThreshold)) {
      const attempted = now.attempted - state.baseline.attempted;
      const failed = now.renderFailed - state.baseline.renderFailed;
      return pause(rt, launch, 'render_failures', `${failed} of ${attempted} recipients could not be rendered`, tally);
    }
    if (report.claimed === 0) {
      if (tally.pending === 0 && tally.sending === 0) {
        if (tally.held === 0) return complete(rt, launch, tally);
        if (state.winner === null) return endTestSample(rt, launch, tally);
        holdoutChecked = false;
        continue;
      }
      // Rows held by other workers, or sends in doubt waiting to become old enough to reconcile.
      await sleep(rt.settings.idleDelayMs);
    }
  }
}

async function pause(rt: SagaRuntime, launch: LoadedLaunch, by: LaunchPauser, reason: string, tally: LedgerTally): Promise<void> {
  if (launch.workspaceId === null) return;
  const context = sagaContext(launch.workspaceId, `launch:pause-${by}:${launch.campaignId}:${launch.revision}`, launch.correlationId);
  const command = { type: 'PauseLaunch' as const, data: { by, reason, tally: renderTallyOf(tally), at: rt.now().toISOString() } };
  if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, command, context, launch.revision)))) return;
  rt.logger.warn({ correlationId: launch.correlationId, campaignId: launch.campaignId, by, reason }, 'launch paused');
  await syncCampaign(rt, await loadLaunch(rt.eventStore, launch.campaignId));
}

/** Every row settled and recorded: LaunchCompleted with the ledger's counts, then the campaign. */
async function complete(rt: SagaRuntime, launch: LoadedLaunch, tally: LedgerTally): Promise<void> {
  const { state } = launch;
  if (state.status !== 'delivering' || launch.workspaceId === null) return;
  const context = sagaContext(launch.workspaceId, `launch:complete:${launch.campaignId}:${state.round}`, launch.correlationId);
  const command = { type: 'CompleteLaunch' as const, data: { counts: countsOf(tally, state.audience.size), at: rt.now().toISOString() } };
  if (!(await stepIfCurrent(launch, () => runLaunchCommand(rt.eventStore, launch.campaignId, command, context, launch.revision)))) return;
  rt.logger.info({ correlationId: launch.correlationId, campaignId: launch.campaignId, counts: command.data.counts, round: state.round }, 'launch completed');
  await syncCampaign(rt, await loadLaunch(rt.eventStore, launch.campaignId));
}

/** The circuit's state now (a getter that moves with time and calls; read afresh each time). */
function circuitOpen(sender: EmailSender): boolean {
  return sender.circuitState === 'open';
}
