/**
 * The launch saga's state machine (stream `launch-<campaignId>`), pure: decide(command, state) → events and
 * evolve(state, event) → state. The handler (orchestration.ts, delivery.ts, testPhase.ts) does the I/O and brings
 * what it found (counts, the frozen audience, the time) in the commands.
 *
 *   none ─StartLaunch─► started ─FreezeAudience─► frozen ─StartDelivery─► delivering ─CompleteLaunch─► completed
 *                         │  ▲                      │                      │  ▲  │                        │
 *                         │  └──── paused ◄─────────┴──────PauseLaunch─────┘  │  │ (A/B test phase:       │
 *                         │                                                   │  │  the holdout waits)    │
 *                         │             StartWinnerRound (round 2, winner) ───┘  └─EndTestSample─► testing │
 *                         │                     ▲                                                    │     │
 *                         │                     └────────────────────────────────────────────────────┘     │
 *                         │                                             ResumeLaunch / ResendToFailed ◄─────┘
 *                         ├─CompensateLaunch─► compensated (before DeliveryStarted only) ─StartLaunch─► started
 *                         ├─CancelLaunch─► cancelled          └─FailLaunch─► failed
 *
 * `testing` pauses, resumes, cancels and fails like `delivering`. Every command is idempotent where repeating it
 * makes sense (a repeated step decides nothing), and a command that makes no sense in the state throws a named
 * error.
 */
import type { Decider } from '../../domain/shared/decider.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../../domain/shared/errors.js';
import type {
  AudienceExclusions,
  LaunchCounts,
  LaunchEvent,
  LaunchPauser,
  LaunchStarted,
  LaunchStep,
  RenderTally,
} from '../../domain/launches/events.js';
import { HoldoutAwaitsWinnerError, NoHoldoutError, NothingToResendError, PointOfNoReturnError } from './workflowErrors.js';

export type LaunchPlan = LaunchStarted['data'];

export interface FrozenAudience {
  readonly size: number;
  readonly variantSizes: Readonly<Record<string, number>> | null;
  readonly hash: string;
  /** With a test phase: recipients in the test sample, and held back for the winner (absent: all in the sample). */
  readonly sampleSize?: number;
  readonly holdoutSize?: number;
}

/** Where a paused launch goes on when resumed. */
export type LaunchPhase = 'started' | 'frozen' | 'delivering' | 'testing';

/** The test sample is sent; the holdout waits for the winner, chosen automatically at `decideAt` (null: by hand). */
export interface TestWait {
  readonly decideAt: string | null;
  readonly sampleEndedAt: string;
}

interface Pause {
  readonly by: LaunchPauser;
  readonly reason: string | null;
  readonly at: string;
}

export type LaunchState =
  | { readonly status: 'none' }
  | { readonly status: 'started'; readonly plan: LaunchPlan }
  | { readonly status: 'frozen'; readonly plan: LaunchPlan; readonly audience: FrozenAudience }
  /** `winner`: in the winner round, the variant the holdout is sent (its held rows get it); null otherwise. */
  | { readonly status: 'delivering'; readonly plan: LaunchPlan; readonly audience: FrozenAudience; readonly round: number; readonly baseline: RenderTally; readonly winner: string | null }
  | { readonly status: 'testing'; readonly plan: LaunchPlan; readonly audience: FrozenAudience; readonly round: number; readonly baseline: RenderTally; readonly test: TestWait }
  | {
      readonly status: 'paused';
      readonly plan: LaunchPlan;
      readonly audience: FrozenAudience | null;
      readonly round: number;
      readonly resumeTo: LaunchPhase;
      readonly pause: Pause;
      readonly baseline: RenderTally;
      readonly winner: string | null;
      readonly test: TestWait | null;
    }
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
  | { readonly type: 'ResendToFailed'; readonly data: { readonly count: number; readonly tally: RenderTally; readonly at: string } }
  /** Every row of the test sample settled: the launch waits for the winner. `counts`: the sample's. */
  | { readonly type: 'EndTestSample'; readonly data: { readonly counts: LaunchCounts; readonly at: string } }
  /** The campaign's winner is known: the holdout is sent the winner's variant. */
  | { readonly type: 'StartWinnerRound'; readonly data: { readonly variantKey: string; readonly by: 'auto' | 'manual'; readonly at: string } };

export type LaunchCommandType = LaunchCommand['type'];

const ZERO_TALLY: RenderTally = { attempted: 0, renderFailed: 0 };
const HOUR_MS = 3_600_000;

/** Holdout recipients of the frozen audience (0 without a test phase, and in launches frozen before it existed). */
export const holdoutOf = (audience: FrozenAudience | null): number => audience?.holdoutSize ?? 0;
/** The sample phase of an A/B test: delivering round 1 while holdout recipients wait for a winner. */
const inSamplePhase = (state: LaunchState): boolean => state.status === 'delivering' && state.winner === null && state.round === 1 && holdoutOf(state.audience) > 0;

export const initialLaunchState = (): LaunchState => ({ status: 'none' });

function refuse(state: LaunchState, command: LaunchCommandType): never {
  if (state.status === 'none') throw new NotFoundError('launch');
  throw new InvalidTransitionError('launch', state.status, command);
}

type Existing = Exclude<LaunchState, { status: 'none' }>;
const phaseOf = (state: Existing): LaunchPhase | null =>
  state.status === 'paused'
    ? state.resumeTo
    : state.status === 'started' || state.status === 'frozen' || state.status === 'delivering' || state.status === 'testing'
      ? state.status
      : null;

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
      if (phase === 'frozen' || phase === 'delivering' || phase === 'testing') return [];
      if (phase !== 'started') return refuse(state, command.type);
      const { size, variantSizes, hash, excluded, at, sampleSize, holdoutSize } = command.data;
      const split = sampleSize === undefined || holdoutSize === undefined ? {} : { sampleSize, holdoutSize };
      return [{ type: 'AudienceFrozen', data: { campaignId, audienceSize: size, variantSizes, hash, ...split, excluded, at } }];
    }
    case 'StartDelivery':
      if (phase === 'delivering' || phase === 'testing') return [];
      if (state.status !== 'frozen') return refuse(state, command.type);
      return [{ type: 'DeliveryStarted', data: { campaignId, at: command.data.at } }];
    case 'CompleteLaunch':
      if (state.status === 'completed') return [];
      if (state.status !== 'delivering') return refuse(state, command.type);
      if (inSamplePhase(state)) throw new HoldoutAwaitsWinnerError(state.status, holdoutOf(state.audience));
      return [{ type: 'LaunchCompleted', data: { campaignId, round: state.round, counts: command.data.counts, at: command.data.at } }];
    case 'EndTestSample': {
      if (phase === 'testing' || (state.status === 'delivering' && state.winner !== null)) return [];
      if (state.status !== 'delivering') return refuse(state, command.type);
      if (!inSamplePhase(state)) throw new NoHoldoutError(state.status, command.type);
      const hours = state.plan.testPhase?.winnerAfterHours ?? null;
      const decideAt = hours === null ? null : new Date(Date.parse(command.data.at) + hours * HOUR_MS).toISOString();
      return [{ type: 'TestSampleSent', data: { campaignId, counts: command.data.counts, decideAt, at: command.data.at } }];
    }
    case 'StartWinnerRound': {
      const { variantKey, by, at } = command.data;
      if (state.status === 'delivering' && state.winner === variantKey) return [];
      if (state.status !== 'testing') return refuse(state, command.type);
      if (holdoutOf(state.audience) === 0) throw new NoHoldoutError(state.status, command.type);
      const keys = state.plan.variants.map((v) => v.key);
      if (!keys.includes(variantKey)) throw new ValidationError(`variantKey must be one of ${keys.join(', ')}.`, 'input.variantKey');
      return [{ type: 'WinnerRoundStarted', data: { campaignId, variantKey, by, holdoutSize: holdoutOf(state.audience), round: state.round + 1, at } }];
    }
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
      if (phase === 'delivering' || phase === 'testing' || state.status === 'completed' || state.status === 'failed') throw new PointOfNoReturnError(state.status);
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
      const { audienceSize: size, variantSizes, hash, sampleSize, holdoutSize } = event.data;
      const audience: FrozenAudience = { size, variantSizes, hash, ...(sampleSize === undefined || holdoutSize === undefined ? {} : { sampleSize, holdoutSize }) };
      return state.status === 'paused' ? { ...state, audience, resumeTo: 'frozen' } : { status: 'frozen', plan, audience };
    }
    case 'DeliveryStarted':
      return state.status === 'frozen' ? { status: 'delivering', plan, audience: state.audience, round: 1, baseline: ZERO_TALLY, winner: null } : state;
    case 'TestSampleSent':
      if (state.status !== 'delivering') return state;
      return { status: 'testing', plan, audience: state.audience, round: state.round, baseline: state.baseline, test: { decideAt: event.data.decideAt, sampleEndedAt: event.data.at } };
    case 'WinnerRoundStarted':
      if (state.status !== 'testing') return state;
      return { status: 'delivering', plan, audience: state.audience, round: event.data.round, baseline: state.baseline, winner: event.data.variantKey };
    case 'LaunchPaused': {
      if (state.status !== 'started' && state.status !== 'frozen' && state.status !== 'delivering' && state.status !== 'testing') return state;
      const audience = state.status === 'started' ? null : state.audience;
      const round = state.status === 'delivering' || state.status === 'testing' ? state.round : 0;
      const winner = state.status === 'delivering' ? state.winner : null;
      const test = state.status === 'testing' ? state.test : null;
      const { by, reason, at, tally } = event.data;
      return { status: 'paused', plan, audience, round, resumeTo: state.status, pause: { by, reason, at }, baseline: tally, winner, test };
    }
    case 'LaunchResumed':
      if (state.status !== 'paused') return state;
      if (state.resumeTo === 'started' || state.audience === null) return { status: 'started', plan };
      if (state.resumeTo === 'frozen') return { status: 'frozen', plan, audience: state.audience };
      if (state.resumeTo === 'testing' && state.test !== null) return { status: 'testing', plan, audience: state.audience, round: state.round, baseline: state.baseline, test: state.test };
      return { status: 'delivering', plan, audience: state.audience, round: state.round, baseline: state.baseline, winner: state.winner };
    case 'LaunchCompleted':
      return state.status === 'delivering' ? { status: 'completed', plan, audience: state.audience, round: state.round, counts: event.data.counts } : state;
    case 'ResendToFailedStarted':
      return state.status === 'completed' ? { status: 'delivering', plan, audience: state.audience, round: event.data.round, baseline: event.data.tally, winner: null } : state;
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

export const isTerminal = (state: LaunchState): boolean => TERMINAL_LAUNCH_STATUSES.includes(state.status);

/** The send round the launch is in or ended in; 0 before delivery started. */
export function roundOf(state: LaunchState): number {
  return 'round' in state ? state.round : 0;
}
