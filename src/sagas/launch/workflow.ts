/**
 * The launch saga's state machine (stream `launch-<campaignId>`), pure: decide(command, state) → events and
 * evolve(state, event) → state. The handler (handler.ts, steps.ts) does the I/O and brings what it found (counts,
 * the frozen audience, the time) in the commands.
 *
 *   none ─StartLaunch─► started ─FreezeAudience─► frozen ─StartDelivery─► delivering ─CompleteLaunch─► completed
 *                         │  ▲                      │                      │  ▲                           │
 *                         │  └──── paused ◄─────────┴──────PauseLaunch─────┘  └──ResumeLaunch / ResendToFailed
 *                         ├─CompensateLaunch─► compensated (before DeliveryStarted only) ─StartLaunch─► started
 *                         ├─CancelLaunch─► cancelled          └─FailLaunch─► failed
 *
 * Every command is idempotent where repeating it makes sense (a repeated step decides nothing), and a command
 * that makes no sense in the state throws a named error.
 */
import type { Decider } from '../../domain/shared/decider.js';
import { DomainError, InvalidTransitionError, NotFoundError } from '../../domain/shared/errors.js';
import type {
  AudienceExclusions,
  LaunchCounts,
  LaunchEvent,
  LaunchPauser,
  LaunchStarted,
  LaunchStep,
  RenderTally,
} from '../../domain/launches/events.js';

export type LaunchPlan = LaunchStarted['data'];

export interface FrozenAudience {
  readonly size: number;
  readonly variantSizes: Readonly<Record<string, number>> | null;
  readonly hash: string;
}

/** Where a paused launch goes on when resumed. */
export type LaunchPhase = 'started' | 'frozen' | 'delivering';

interface Pause {
  readonly by: LaunchPauser;
  readonly reason: string | null;
  readonly at: string;
}

export type LaunchState =
  | { readonly status: 'none' }
  | { readonly status: 'started'; readonly plan: LaunchPlan }
  | { readonly status: 'frozen'; readonly plan: LaunchPlan; readonly audience: FrozenAudience }
  | { readonly status: 'delivering'; readonly plan: LaunchPlan; readonly audience: FrozenAudience; readonly round: number; readonly baseline: RenderTally }
  | { readonly status: 'paused'; readonly plan: LaunchPlan; readonly audience: FrozenAudience | null; readonly round: number; readonly resumeTo: LaunchPhase; readonly pause: Pause; readonly baseline: RenderTally }
  | { readonly status: 'completed'; readonly plan: LaunchPlan; readonly audience: FrozenAudience; readonly round: number; readonly counts: LaunchCounts }
  /** `round`: the send round it ended in (0: before delivery); late outcomes of in-flight sends belong to it. */
  | { readonly status: 'cancelled'; readonly plan: LaunchPlan; readonly round: number; readonly reason: string | null; readonly counts: LaunchCounts }
  | { readonly status: 'compensated'; readonly plan: LaunchPlan; readonly reason: string; readonly step: LaunchStep }
  | { readonly status: 'failed'; readonly plan: LaunchPlan; readonly round: number; readonly reason: string; readonly counts: LaunchCounts };

export type LaunchStatus = LaunchState['status'];
export const TERMINAL_LAUNCH_STATUSES: readonly LaunchStatus[] = ['completed', 'cancelled', 'compensated', 'failed'];

export type LaunchCommand =
  | { readonly type: 'StartLaunch'; readonly data: LaunchPlan }
  | { readonly type: 'FreezeAudience'; readonly data: FrozenAudience & { readonly excluded: AudienceExclusions; readonly at: string } }
  | { readonly type: 'StartDelivery'; readonly data: { readonly at: string } }
  | { readonly type: 'PauseLaunch'; readonly data: { readonly by: LaunchPauser; readonly reason: string | null; readonly tally: RenderTally; readonly at: string } }
  | { readonly type: 'ResumeLaunch'; readonly data: { readonly at: string } }
  | { readonly type: 'CompleteLaunch'; readonly data: { readonly counts: LaunchCounts; readonly at: string } }
  | { readonly type: 'CancelLaunch'; readonly data: { readonly reason: string | null; readonly counts: LaunchCounts; readonly at: string } }
  | { readonly type: 'CompensateLaunch'; readonly data: { readonly reason: string; readonly step: LaunchStep; readonly at: string } }
  | { readonly type: 'FailLaunch'; readonly data: { readonly reason: string; readonly counts: LaunchCounts; readonly at: string } }
  /** `count`: failed ledger rows that go back to pending; `tally`: the ledger's attempts once they have. */
  | { readonly type: 'ResendToFailed'; readonly data: { readonly count: number; readonly tally: RenderTally; readonly at: string } };

export type LaunchCommandType = LaunchCommand['type'];

/** After DeliveryStarted recovery is forward only: no compensation. */
export class PointOfNoReturnError extends InvalidTransitionError {
  constructor(from: LaunchStatus) {
    super('launch', `${from} (emails may have been sent)`, 'CompensateLaunch');
    this.name = 'PointOfNoReturnError';
  }
}

/** ResendToFailed on a launch without failed recipients. */
export class NothingToResendError extends DomainError {
  readonly code = 'INVALID_TRANSITION';
  constructor(readonly campaignId: string) {
    super(`The launch of campaign ${campaignId} has no failed recipients to resend to`);
    this.name = 'NothingToResendError';
  }
}

const ZERO_TALLY: RenderTally = { attempted: 0, renderFailed: 0 };

export const initialLaunchState = (): LaunchState => ({ status: 'none' });

function refuse(state: LaunchState, command: LaunchCommandType): never {
  if (state.status === 'none') throw new NotFoundError('launch');
  throw new InvalidTransitionError('launch', state.status, command);
}

type Existing = Exclude<LaunchState, { status: 'none' }>;
const phaseOf = (state: Existing): LaunchPhase | null =>
  state.status === 'paused' ? state.resumeTo : state.status === 'started' || state.status === 'frozen' || state.status === 'delivering' ? state.status : null;

export function decideLaunch(command: LaunchCommand, state: LaunchState): LaunchEvent[] {
  // Happy path
  if (command.type === 'StartLaunch') {
    if (state.status === 'none' || state.status === 'compensated') {
      if (state.status === 'compensated' && command.data.campaignRevision <= state.plan.campaignRevision) return [];
      return [{ type: 'LaunchStarted', data: command.data }];
    }
    // The same launch again (a redelivered CampaignLaunched) decides nothing; another one while this runs is wrong.
    if (state.plan.campaignRevision === command.data.campaignRevision) return [];
    return refuse(state, command.type);
  }
  if (state.status === 'none') return refuse(state, command.type);
  const campaignId = state.plan.campaignId;
  const phase = phaseOf(state);
  switch (command.type) {
    case 'FreezeAudience': {
      if (phase === 'frozen' || phase === 'delivering') return [];
      if (phase !== 'started') return refuse(state, command.type);
      const { size, variantSizes, hash, excluded, at } = command.data;
      return [{ type: 'AudienceFrozen', data: { campaignId, audienceSize: size, variantSizes, hash, excluded, at } }];
    }
    case 'StartDelivery':
      if (state.status === 'delivering' || (state.status === 'paused' && state.resumeTo === 'delivering')) return [];
      if (state.status !== 'frozen') return refuse(state, command.type);
      return [{ type: 'DeliveryStarted', data: { campaignId, at: command.data.at } }];
    case 'CompleteLaunch':
      if (state.status === 'completed') return [];
      if (state.status !== 'delivering') return refuse(state, command.type);
      return [{ type: 'LaunchCompleted', data: { campaignId, round: state.round, counts: command.data.counts, at: command.data.at } }];
    case 'PauseLaunch': {
      if (state.status === 'paused') return [];
      if (phase === null) return refuse(state, command.type);
      const { by, reason, tally, at } = command.data;
      return [{ type: 'LaunchPaused', data: { campaignId, reason, by, tally, at } }];
    }
    case 'ResumeLaunch':
      if (state.status === 'paused') return [{ type: 'LaunchResumed', data: { campaignId, at: command.data.at } }];
      if (phase !== null) return [];
      return refuse(state, command.type);
    case 'ResendToFailed':
      if (state.status !== 'completed') return refuse(state, command.type);
      if (command.data.count === 0) throw new NothingToResendError(campaignId);
      return [{ type: 'ResendToFailedStarted', data: { campaignId, count: command.data.count, round: state.round + 1, tally: command.data.tally, at: command.data.at } }];
    // Compensation
    case 'CompensateLaunch':
      if (state.status === 'compensated') return [];
      if (phase === 'delivering' || state.status === 'completed' || state.status === 'failed') throw new PointOfNoReturnError(state.status);
      if (phase === null) return refuse(state, command.type);
      return [{ type: 'LaunchCompensated', data: { campaignId, reason: command.data.reason, step: command.data.step, at: command.data.at } }];
    case 'CancelLaunch':
      if (state.status === 'cancelled') return [];
      if (phase === null) return refuse(state, command.type);
      return [{ type: 'LaunchCancelled', data: { campaignId, reason: command.data.reason, counts: command.data.counts, at: command.data.at } }];
    case 'FailLaunch':
      if (state.status === 'failed') return [];
      if (phase === null) return refuse(state, command.type);
      return [{ type: 'LaunchFailed', data: { campaignId, reason: command.data.reason, counts: command.data.counts, at: command.data.at } }];
  }
}

export function evolveLaunch(state: LaunchState, event: LaunchEvent): LaunchState {
  if (event.type === 'LaunchStarted') return { status: 'started', plan: event.data };
  if (state.status === 'none') return state;
  const { plan } = state;
  switch (event.type) {
    // Happy path
    case 'AudienceFrozen': {
      const audience = { size: event.data.audienceSize, variantSizes: event.data.variantSizes, hash: event.data.hash };
      return state.status === 'paused' ? { ...state, audience, resumeTo: 'frozen' } : { status: 'frozen', plan, audience };
    }
    case 'DeliveryStarted':
      return state.status === 'frozen' ? { status: 'delivering', plan, audience: state.audience, round: 1, baseline: ZERO_TALLY } : state;
    case 'LaunchPaused': {
      if (state.status !== 'started' && state.status !== 'frozen' && state.status !== 'delivering') return state;
      const audience = state.status === 'started' ? null : state.audience;
      const round = state.status === 'delivering' ? state.round : 0;
      const { by, reason, at, tally } = event.data;
      return { status: 'paused', plan, audience, round, resumeTo: state.status, pause: { by, reason, at }, baseline: tally };
    }
    case 'LaunchResumed':
      if (state.status !== 'paused') return state;
      if (state.resumeTo === 'started' || state.audience === null) return { status: 'started', plan };
      if (state.resumeTo === 'frozen') return { status: 'frozen', plan, audience: state.audience };
      return { status: 'delivering', plan, audience: state.audience, round: state.round, baseline: state.baseline };
    case 'LaunchCompleted':
      return state.status === 'delivering' ? { status: 'completed', plan, audience: state.audience, round: state.round, counts: event.data.counts } : state;
    case 'ResendToFailedStarted':
      return state.status === 'completed' ? { status: 'delivering', plan, audience: state.audience, round: event.data.round, baseline: event.data.tally } : state;
    // Compensation and the other ends
    case 'LaunchCompensated':
      return { status: 'compensated', plan, reason: event.data.reason, step: event.data.step };
    case 'LaunchCancelled':
      return { status: 'cancelled', plan, round: roundOf(state), reason: event.data.reason, counts: event.data.counts };
    case 'LaunchFailed':
      return { status: 'failed', plan, round: roundOf(state), reason: event.data.reason, counts: event.data.counts };
  }
}

export const launchDecider: Decider<LaunchCommand, LaunchState, LaunchEvent> = {
  initialState: initialLaunchState,
  evolve: evolveLaunch,
  decide: decideLaunch,
};

export interface RenderFailureThreshold {
  /** Attempts since the baseline before the ratio is judged. */
  readonly minAttempted: number;
  /** Pause when more than this share of those attempts failed to render. */
  readonly maxRatio: number;
}

export const DEFAULT_RENDER_FAILURE_THRESHOLD: RenderFailureThreshold = { minAttempted: 50, maxRatio: 0.1 };

/** Render failures since the baseline (the last resume, resend or the start of delivery) above the threshold? */
export function renderFailuresExceeded(baseline: RenderTally, now: RenderTally, threshold: RenderFailureThreshold = DEFAULT_RENDER_FAILURE_THRESHOLD): boolean {
  const attempted = now.attempted - baseline.attempted;
  const failed = now.renderFailed - baseline.renderFailed;
  return attempted >= threshold.minAttempted && failed > attempted * threshold.maxRatio;
}

export const isTerminal = (state: LaunchState): boolean => TERMINAL_LAUNCH_STATUSES.includes(state.status);

/** The send round the launch is in or ended in; 0 before delivery started. */
export function roundOf(state: LaunchState): number {
  return 'round' in state ? state.round : 0;
}
