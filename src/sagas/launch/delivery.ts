import type { LaunchPauser, RenderTally } from '../../domain/launches/events.js';
import { deliverBatch, type DeliverBatchReport, type RenderedEmail } from '../delivery/deliver.js';
import type { DeliveryLedgerRow } from '../delivery/ledger.js';
import type { EmailSender } from '../delivery/smtpSender.js';
import { syncCampaign } from './campaignSync.js';
import { countsOf, hasUnsettledRows, releaseStaleClaims, renderTallyOf, tallyLedger, type LedgerTally } from './launchLedger.js';
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
 * How often a busy worker counts the campaign's ledger rows in full (a pass over all of them): every 2 s, or, when
 * a count takes longer than 1/20 of that, every 20 counts' time, so that counting never costs more than ~5% of the
 * worker's time however large the campaign (a 1M-row count takes a few hundred ms).
 */
const TALLY_EVERY_MS = 2_000;
const TALLY_COST_SHARE = 20;

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
 *
 * No statement of a round visits the whole campaign (that made a launch O(N²) in its audience): claims continue
 * from this worker's last claimed key, a round's outcome events are recorded while the next round sends, the
 * crash-recovery sweeps run every half lease (and whenever nothing was claimable), and the ledger is counted in
 * full only every TALLY_EVERY_MS (longer when a count is slow), before any pause or completion, and when a claim
 * comes back empty and two index probes find nothing pending or sending left; in between, the render-failure
 * threshold is judged on the last count plus this worker's own rounds.
 */
export async function deliverLaunch(rt: SagaRuntime, campaignId: string, stopping: () => boolean): Promise<void> {
  const sender = rt.sender;
  // Without an SMTP provider this worker leaves delivery to workers that have one (said once at start-up).
  if (sender === null) return;
  let render: ((row: DeliveryLedgerRow) => Promise<RenderedEmail>) | null = null;
  let holdoutChecked = false;
  const recording = new BackgroundRecording();
  const sweepEveryMs = Math.min(rt.settings.claimLeaseMs, rt.settings.staleSendingAfterMs) / 2;
  let lastSweep = Number.NEGATIVE_INFINITY;
  let idle = true;
  let claimAfter: string | null = null;
  // Rows a sweep reconciled as sent: recorded with the next round's rows.
  let reconciledSent: readonly string[] = [];
  // Counted after this worker's outcomes are recorded: completion follows a count, and LaunchCompleted comes last.
  const counter = new LedgerCounter(() => recording.settled(), () => tallyLedger(rt.db, campaignId));
  for (;;) {
    if (stopping()) return recording.settled();
    const launch = await loadLaunch(rt.eventStore, campaignId);
    const { state } = launch;
    if (state.status !== 'delivering' || launch.workspaceId === null) return recording.settled();
    const log = rt.logger.child({ correlationId: launch.correlationId, campaignId, round: state.round });
    // This round's outcome events: of the given rows, or (no keys) of every unrecorded row of the campaign.
    const recordOutcomes = (keys?: readonly string[]) => recordRoundOutcomes({ eventStore: rt.eventStore, ledger: rt.ledger, campaignId, correlationId: launch.correlationId, round: state.round, ...(keys === undefined ? {} : { keys }) });
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

    // Crash recovery: claims of a dead worker are given up, sends left in doubt are reconciled. Both only matter
    // once a lease has run out, so every half lease is soon enough; an idle worker (waiting for such rows) sweeps
    // every round.
    if (idle || performance.now() - lastSweep >= sweepEveryMs) {
      lastSweep = performance.now();
      await releaseStaleClaims(rt.db, campaignId, rt.settings.claimLeaseMs);
      const reconciled = await rt.ledger.reconcileSending(rt.reconciler, { campaignId, staleAfterMs: rt.settings.staleSendingAfterMs });
      reconciledSent = [...reconciledSent, ...reconciled.sent];
      if (reconciled.sent.length + reconciled.requeued.length + reconciled.unknown.length > 0) log.warn({ reconciled: { sent: reconciled.sent.length, requeued: reconciled.requeued.length, unknown: reconciled.unknown.length } }, 'settled sends left in doubt');
    }

    if (circuitOpen(sender)) {
      // Cooling down (e.g. resumed right after an outage): claim nothing until a probe may go out.
      idle = true;
      await sleep(rt.settings.idleDelayMs);
      continue;
    }
    // Its own trace per round (a launch's delivery is long), linked to the launch request's trace.
    const started = linkTo(launch.events.findLast((e) => e.type === 'LaunchStarted')?.metadata.traceparent);
    const report = await withSpan('saga launch delivery', { 'campaign.id': campaignId, 'launch.round': state.round, 'correlation.id': launch.correlationId }, () => deliverBatch({ ledger: rt.ledger, sender, campaignId, workerId: rt.workerId, batchSize: rt.settings.batchSize, claimAfter, render: render!, logger: rt.logger }), { root: true, links: started === undefined ? [] : [started] });
    claimAfter = report.claimedUpTo;
    idle = report.claimed === 0;
    // This round's outcome events are appended while the next round sends (one recording at a time), looked up by
    // key: the rows this round claimed and those a sweep reconciled.
    await recording.settled();
    const keys = [...report.claimedKeys, ...reconciledSent];
    reconciledSent = [];
    recording.start(() => recordOutcomes(keys));
    if (report.claimed > 0) log.debug({ report }, 'delivery batch');

    // Idle while other workers finish their batches: two index probes a round, the full count only once nothing
    // is left pending or sending (a count per idle round was a pass over the whole campaign every idleDelayMs).
    const othersBusy = idle && (await hasUnsettledRows(rt.db, campaignId));
    if ((idle && !othersBusy) || counter.due()) await counter.count();
    else counter.add(report);

    // Only a circuit still open after the batch: a half-open probe that succeeded closed it again (the rows that
    // failed fast meanwhile went back to pending and go out with the next batch).
    if (report.circuitOpen && circuitOpen(sender)) return pause(rt, launch, 'circuit', 'the SMTP circuit is open (the provider keeps failing)', await counter.count());
    if (renderFailuresExceeded(state.baseline, counter.estimate, rt.settings.renderFailureThreshold)) {
      // Judged again on a full count: the estimate misses other workers' rounds since the last one.
      const tally = await counter.count();
      const now = renderTallyOf(tally);
      if (renderFailuresExceeded(state.baseline, now, rt.settings.renderFailureThreshold)) {
        const attempted = now.attempted - state.baseline.attempted;
        const failed = now.renderFailed - state.baseline.renderFailed;
        return pause(rt, launch, 'render_failures', `${failed} of ${attempted} recipients could not be rendered`, tally);
      }
    }
    if (idle) {
      const tally = othersBusy ? null : counter.tally;
      if (tally !== null && tally.pending === 0 && tally.sending === 0) {
        // Whatever settled outside this worker's rounds (a dead worker's rows reconciled by another worker, a
        // recording that failed) is recorded before the launch moves on: its last event follows every outcome.
        await recordOutcomes();
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

/** The last full count of the ledger, and the render tally since then as far as this worker's own rounds tell. */
class LedgerCounter {
  private last: { readonly tally: LedgerTally; readonly at: number; readonly tookMs: number } | null = null;
  estimate: RenderTally = { attempted: 0, renderFailed: 0 };

  constructor(
    private readonly before: () => Promise<void>,
    private readonly countLedger: () => Promise<LedgerTally>,
  ) {}

  async count(): Promise<LedgerTally> {
    await this.before();
    const started = performance.now();
    const tally = await this.countLedger();
    const at = performance.now();
    this.last = { tally, at, tookMs: at - started };
    this.estimate = renderTallyOf(tally);
    return tally;
  }

  due(): boolean {
    return this.last === null || performance.now() - this.last.at >= Math.max(TALLY_EVERY_MS, this.last.tookMs * TALLY_COST_SHARE);
  }

  add(report: DeliverBatchReport): void {
    const attempted = report.sent + report.failed + report.renderFailed + report.inDoubt;
    this.estimate = { attempted: this.estimate.attempted + attempted, renderFailed: this.estimate.renderFailed + report.renderFailed };
  }

  /** The last full count (only read right after count()). */
  get tally(): LedgerTally {
    if (this.last === null) throw new Error('the ledger has not been counted yet');
    return this.last.tally;
  }
}

/**
 * The outcome recording of the previous round, running while the next round sends. `settled()` waits for it and
 * rethrows its error; a failed recording leaves its rows unrecorded, for the next recording or crash recovery.
 */
class BackgroundRecording {
  private running: Promise<unknown> = Promise.resolve();

  start(work: () => Promise<unknown>): void {
    this.running = work();
    // Handled here so that it is not reported as unhandled before settled() is awaited; settled() still rethrows.
    this.running.catch(() => {});
  }

  async settled(): Promise<void> {
    await this.running;
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
