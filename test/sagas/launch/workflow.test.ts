import { describe, expect, it } from 'vitest';
import type { LaunchCounts, LaunchEvent } from '../../../src/domain/launches/events.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../../../src/domain/shared/errors.js';
import { launchDecider, type LaunchCommand, type LaunchPlan } from '../../../src/sagas/launch/workflow.js';
import { HoldoutAwaitsWinnerError, NoHoldoutError, NothingToResendError, PointOfNoReturnError } from '../../../src/sagas/launch/workflowErrors.js';
import { renderFailuresExceeded } from '../../../src/sagas/launch/renderThreshold.js';
import { deciderSpec } from '../../support/decider.js';

const spec = deciderSpec(launchDecider);
const C = '6f0c1d2e-3a4b-4c5d-8e9f-001122334455';
const AT = '2025-05-01T10:00:00.000Z';
const plan: LaunchPlan = {
  campaignId: C,
  campaignRevision: 3,
  previousStatus: { status: 'draft' },
  campaignName: 'Spring',
  segmentId: 'vips',
  topic: 'news',
  sender: { email: 'news@mail.example.com', name: null },
  replyTo: null,
  variants: [{ key: 'main', templateId: 't1', templateVersion: 2, subject: null, splitPercent: 100 }],
  at: AT,
};
const counts: LaunchCounts = { audience: 3, sent: 2, failed: 1, renderFailed: 0, unknown: 0, cancelled: 0 };
const tally = { attempted: 0, renderFailed: 0 };
const excluded = { unsubscribed: 1, suppressed: 0, merged: 0, duplicateEmail: 0 };

// Events
const started: LaunchEvent = { type: 'LaunchStarted', data: plan };
const frozen: LaunchEvent = { type: 'AudienceFrozen', data: { campaignId: C, audienceSize: 3, variantSizes: null, hash: 'h', excluded, at: AT } };
const delivering: LaunchEvent = { type: 'DeliveryStarted', data: { campaignId: C, at: AT } };
const pausedByUser: LaunchEvent = { type: 'LaunchPaused', data: { campaignId: C, reason: 'wait', by: 'user', tally, at: AT } };
const resumed: LaunchEvent = { type: 'LaunchResumed', data: { campaignId: C, at: AT } };
const completed: LaunchEvent = { type: 'LaunchCompleted', data: { campaignId: C, round: 1, counts, at: AT } };
const cancelled: LaunchEvent = { type: 'LaunchCancelled', data: { campaignId: C, reason: null, counts, at: AT } };
const compensated: LaunchEvent = { type: 'LaunchCompensated', data: { campaignId: C, reason: 'SMTP down', step: 'preflight', at: AT } };
const failed: LaunchEvent = { type: 'LaunchFailed', data: { campaignId: C, reason: 'broken', counts, at: AT } };
const resend: LaunchEvent = { type: 'ResendToFailedStarted', data: { campaignId: C, count: 1, round: 2, tally: { attempted: 2, renderFailed: 0 }, at: AT } };

// An A/B test with a test phase: 2 of 10 recipients in the sample, 8 held back for the winner.
const planAB: LaunchPlan = {
  ...plan,
  variants: [
    { key: 'A', templateId: 't1', templateVersion: 1, subject: null, splitPercent: 50 },
    { key: 'B', templateId: 't2', templateVersion: 1, subject: null, splitPercent: 50 },
  ],
  testPhase: { samplePercent: 20, winnerMetric: 'open_rate', winnerAfterHours: 1 },
};
const DECIDE_AT = '2025-05-01T11:00:00.000Z';
const sampleCounts: LaunchCounts = { audience: 2, sent: 2, failed: 0, renderFailed: 0, unknown: 0, cancelled: 0 };
const startedAB: LaunchEvent = { type: 'LaunchStarted', data: planAB };
const frozenAB: LaunchEvent = { type: 'AudienceFrozen', data: { campaignId: C, audienceSize: 10, variantSizes: { A: 1, B: 1 }, hash: 'h', sampleSize: 2, holdoutSize: 8, excluded, at: AT } };
const sampleSent: LaunchEvent = { type: 'TestSampleSent', data: { campaignId: C, counts: sampleCounts, decideAt: DECIDE_AT, at: AT } };
const winnerRound: LaunchEvent = { type: 'WinnerRoundStarted', data: { campaignId: C, variantKey: 'B', by: 'auto', holdoutSize: 8, round: 2, at: AT } };
const completedRound2: LaunchEvent = { type: 'LaunchCompleted', data: { campaignId: C, round: 2, counts, at: AT } };

// Commands
const COMMANDS = {
  StartLaunch: { type: 'StartLaunch', data: plan },
  FreezeAudience: { type: 'FreezeAudience', data: { size: 3, variantSizes: null, hash: 'h', excluded, at: AT } },
  StartDelivery: { type: 'StartDelivery', data: { at: AT } },
  PauseLaunch: { type: 'PauseLaunch', data: { by: 'user', reason: 'wait', tally, at: AT } },
  ResumeLaunch: { type: 'ResumeLaunch', data: { at: AT } },
  CompleteLaunch: { type: 'CompleteLaunch', data: { counts, at: AT } },
  CancelLaunch: { type: 'CancelLaunch', data: { reason: null, counts, at: AT } },
  CompensateLaunch: { type: 'CompensateLaunch', data: { reason: 'SMTP down', step: 'preflight', at: AT } },
  FailLaunch: { type: 'FailLaunch', data: { reason: 'broken', counts, at: AT } },
  ResendToFailed: { type: 'ResendToFailed', data: { count: 1, tally: { attempted: 2, renderFailed: 0 }, at: AT } },
  EndTestSample: { type: 'EndTestSample', data: { counts: sampleCounts, at: AT } },
  StartWinnerRound: { type: 'StartWinnerRound', data: { variantKey: 'B', by: 'auto', at: AT } },
} satisfies Record<LaunchCommand['type'], LaunchCommand>;

const HISTORY: Record<string, readonly LaunchEvent[]> = {
  started: [started],
  frozen: [started, frozen],
  delivering: [started, frozen, delivering],
  pausedBeforeFreeze: [started, pausedByUser],
  pausedDelivering: [started, frozen, delivering, pausedByUser],
  completed: [started, frozen, delivering, completed],
  cancelled: [started, frozen, delivering, cancelled],
  compensated: [started, compensated],
  failed: [started, frozen, delivering, failed],
  sampling: [startedAB, frozenAB, delivering],
  testing: [startedAB, frozenAB, delivering, sampleSent],
  pausedTesting: [startedAB, frozenAB, delivering, sampleSent, pausedByUser],
  winnerRound: [startedAB, frozenAB, delivering, sampleSent, winnerRound],
};
const I = InvalidTransitionError;

/** What each command does in each state: the events it decides, [] (an idempotent repeat), or the error it throws. */
const TABLE: Record<keyof typeof COMMANDS, Record<keyof typeof HISTORY, readonly LaunchEvent[] | (abstract new (...args: never[]) => Error)>> = {
  StartLaunch: { started: [], frozen: [], delivering: [], pausedBeforeFreeze: [], pausedDelivering: [], completed: [], cancelled: [], compensated: [], failed: [], sampling: [], testing: [], pausedTesting: [], winnerRound: [] },
  FreezeAudience: { started: [frozen], frozen: [], delivering: [], pausedBeforeFreeze: [frozen], pausedDelivering: [], completed: InvalidTransitionError, cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: [], testing: [], pausedTesting: [], winnerRound: [] },
  StartDelivery: { started: InvalidTransitionError, frozen: [delivering], delivering: [], pausedBeforeFreeze: InvalidTransitionError, pausedDelivering: [], completed: InvalidTransitionError, cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: [], testing: [], pausedTesting: [], winnerRound: [] },
  PauseLaunch: { started: [pausedByUser], frozen: [pausedByUser], delivering: [pausedByUser], pausedBeforeFreeze: [], pausedDelivering: [], completed: InvalidTransitionError, cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: [pausedByUser], testing: [pausedByUser], pausedTesting: [], winnerRound: [pausedByUser] },
  ResumeLaunch: { started: [], frozen: [], delivering: [], pausedBeforeFreeze: [resumed], pausedDelivering: [resumed], completed: InvalidTransitionError, cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: [], testing: [], pausedTesting: [resumed], winnerRound: [] },
  CompleteLaunch: { started: InvalidTransitionError, frozen: InvalidTransitionError, delivering: [completed], pausedBeforeFreeze: InvalidTransitionError, pausedDelivering: InvalidTransitionError, completed: [], cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: HoldoutAwaitsWinnerError, testing: I, pausedTesting: I, winnerRound: [completedRound2] },
  CancelLaunch: { started: [cancelled], frozen: [cancelled], delivering: [cancelled], pausedBeforeFreeze: [cancelled], pausedDelivering: [cancelled], completed: InvalidTransitionError, cancelled: [], compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: [cancelled], testing: [cancelled], pausedTesting: [cancelled], winnerRound: [cancelled] },
  CompensateLaunch: { started: [compensated], frozen: [compensated], delivering: PointOfNoReturnError, pausedBeforeFreeze: [compensated], pausedDelivering: PointOfNoReturnError, completed: PointOfNoReturnError, cancelled: InvalidTransitionError, compensated: [], failed: PointOfNoReturnError, sampling: PointOfNoReturnError, testing: PointOfNoReturnError, pausedTesting: PointOfNoReturnError, winnerRound: PointOfNoReturnError },
  FailLaunch: { started: [failed], frozen: [failed], delivering: [failed], pausedBeforeFreeze: [failed], pausedDelivering: [failed], completed: InvalidTransitionError, cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: [], sampling: [failed], testing: [failed], pausedTesting: [failed], winnerRound: [failed] },
  ResendToFailed: { started: InvalidTransitionError, frozen: InvalidTransitionError, delivering: InvalidTransitionError, pausedBeforeFreeze: InvalidTransitionError, pausedDelivering: InvalidTransitionError, completed: [resend], cancelled: InvalidTransitionError, compensated: InvalidTransitionError, failed: InvalidTransitionError, sampling: I, testing: I, pausedTesting: I, winnerRound: I },
  EndTestSample: { started: I, frozen: I, delivering: NoHoldoutError, pausedBeforeFreeze: I, pausedDelivering: I, completed: I, cancelled: I, compensated: I, failed: I, sampling: [sampleSent], testing: [], pausedTesting: [], winnerRound: [] },
  StartWinnerRound: { started: I, frozen: I, delivering: I, pausedBeforeFreeze: I, pausedDelivering: I, completed: I, cancelled: I, compensated: I, failed: I, sampling: I, testing: [winnerRound], pausedTesting: I, winnerRound: [] },
};

const cases = Object.entries(TABLE).flatMap(([command, row]) => Object.entries(row).map(([state, outcome]) => ({ command: command as keyof typeof COMMANDS, state, outcome })));

describe('launch workflow: the transition table', () => {
  it.each(cases.filter((c) => Array.isArray(c.outcome)))('$command when $state decides the expected events', ({ command, state, outcome }) => {
    spec.given(HISTORY[state]!).when(COMMANDS[command]).then(outcome as readonly LaunchEvent[]);
  });

  it.each(cases.filter((c) => !Array.isArray(c.outcome)))('$command when $state is refused with a named error', ({ command, state, outcome }) => {
    spec.given(HISTORY[state]!).when(COMMANDS[command]).thenThrows(outcome as abstract new (...args: never[]) => Error);
  });

  it.each(Object.values(COMMANDS).filter((c) => c.type !== 'StartLaunch'))('$type before any launch is NOT_FOUND', (command) => {
    spec.given([]).when(command).thenThrows(NotFoundError);
  });
});

describe('launch workflow: happy path', () => {
  it('StartLaunch records the plan; a redelivered CampaignLaunched (same revision) decides nothing', () => {
    spec.given([]).when(COMMANDS.StartLaunch).then([started]);
    spec.given([started, frozen, delivering]).when(COMMANDS.StartLaunch).then([]);
  });

  it('a different launch while one runs is refused', () => {
    spec.given([started]).when({ type: 'StartLaunch', data: { ...plan, campaignRevision: 9 } }).thenThrows(InvalidTransitionError, /started/);
  });

  it('folds to delivering round 1 with a zero baseline, and a resume returns to the phase it paused in', () => {
    expect(spec.given([started, frozen, delivering]).state).toMatchObject({ status: 'delivering', round: 1, baseline: { attempted: 0, renderFailed: 0 }, audience: { size: 3, hash: 'h' } });
    expect(spec.given([started, pausedByUser]).state).toMatchObject({ status: 'paused', resumeTo: 'started', audience: null });
    expect(spec.given([started, pausedByUser, frozen]).state).toMatchObject({ status: 'paused', resumeTo: 'frozen', audience: { size: 3 } });
    expect(spec.given([started, pausedByUser, frozen, resumed]).state).toMatchObject({ status: 'frozen' });
    const circuit: LaunchEvent = { type: 'LaunchPaused', data: { campaignId: C, reason: 'open', by: 'circuit', tally: { attempted: 40, renderFailed: 1 }, at: AT } };
    expect(spec.given([started, frozen, delivering, circuit, resumed]).state).toMatchObject({ status: 'delivering', round: 1, baseline: { attempted: 40, renderFailed: 1 } });
  });

  it('ResendToFailed opens round 2 from a completed launch; completing it records the round', () => {
    const state = spec.given([started, frozen, delivering, completed, resend]).state;
    expect(state).toMatchObject({ status: 'delivering', round: 2, baseline: { attempted: 2, renderFailed: 0 } });
    spec.given([started, frozen, delivering, completed, resend]).when(COMMANDS.CompleteLaunch).then([{ type: 'LaunchCompleted', data: { campaignId: C, round: 2, counts, at: AT } }]);
  });

  it('ResendToFailed without failed recipients is NothingToResend', () => {
    spec.given(HISTORY.completed!).when({ type: 'ResendToFailed', data: { count: 0, tally, at: AT } }).thenThrows(NothingToResendError, /no failed recipients/);
  });
});

describe('launch workflow: the A/B test phase', () => {
  it('the sample ends in testing, decideAt = the end of the sample + winnerAfterHours; by hand: no decideAt', () => {
    expect(spec.given(HISTORY.testing!).state).toMatchObject({ status: 'testing', round: 1, audience: { sampleSize: 2, holdoutSize: 8 }, test: { decideAt: DECIDE_AT, sampleEndedAt: AT } });
    const byHand: LaunchEvent = { type: 'LaunchStarted', data: { ...planAB, testPhase: { samplePercent: 20, winnerMetric: 'open_rate', winnerAfterHours: null } } };
    spec.given([byHand, frozenAB, delivering]).when(COMMANDS.EndTestSample).then([{ ...sampleSent, data: { ...sampleSent.data, decideAt: null } } as LaunchEvent]);
  });

  it('a pause while testing keeps decideAt, and a resume returns to testing', () => {
    expect(spec.given(HISTORY.pausedTesting!).state).toMatchObject({ status: 'paused', resumeTo: 'testing', test: { decideAt: DECIDE_AT } });
    expect(spec.given([...HISTORY.pausedTesting!, resumed]).state).toMatchObject({ status: 'testing', test: { decideAt: DECIDE_AT } });
  });

  it('the winner round is round 2 with the winner; it completes like any round', () => {
    expect(spec.given(HISTORY.winnerRound!).state).toMatchObject({ status: 'delivering', round: 2, winner: 'B' });
    expect(spec.given([...HISTORY.winnerRound!, completedRound2]).state).toMatchObject({ status: 'completed', round: 2 });
    expect(spec.given([...HISTORY.winnerRound!, pausedByUser, resumed]).state).toMatchObject({ status: 'delivering', round: 2, winner: 'B' });
  });

  it('a winner that is not a variant is refused; a different winner after one started is refused', () => {
    spec.given(HISTORY.testing!).when({ type: 'StartWinnerRound', data: { variantKey: 'Z', by: 'manual', at: AT } }).thenThrows(ValidationError, /one of A, B/);
    spec.given(HISTORY.winnerRound!).when({ type: 'StartWinnerRound', data: { variantKey: 'A', by: 'manual', at: AT } }).thenThrows(InvalidTransitionError);
  });

  it('the sample cannot complete the launch while the holdout waits; a launch without a holdout completes', () => {
    spec.given(HISTORY.sampling!).when(COMMANDS.CompleteLaunch).thenThrows(HoldoutAwaitsWinnerError, /8 holdout recipients await the winner/);
    const noHoldout: LaunchEvent = { ...frozenAB, data: { ...(frozenAB.data as object), sampleSize: 10, holdoutSize: 0 } } as LaunchEvent;
    spec.given([startedAB, noHoldout, delivering]).when(COMMANDS.CompleteLaunch).then([completed]);
    spec.given([startedAB, noHoldout, delivering]).when(COMMANDS.EndTestSample).thenThrows(NoHoldoutError);
  });

  it('an AudienceFrozen written before the test phase existed reads as no holdout', () => {
    expect(spec.given([started, frozen, delivering]).state).toMatchObject({ status: 'delivering', winner: null });
    expect((spec.given([started, frozen]).state as { audience: object }).audience).not.toHaveProperty('holdoutSize');
  });
});

describe('launch workflow: compensation', () => {
  it('before DeliveryStarted the launch compensates; after it, never (the point of no return)', () => {
    spec.given([started, frozen]).when(COMMANDS.CompensateLaunch).then([compensated]);
    spec.given([started, frozen, delivering]).when(COMMANDS.CompensateLaunch).thenThrows(PointOfNoReturnError, /emails may have been sent/);
  });

  it('a compensated campaign can be launched again (a later CampaignLaunched), but not by the old one', () => {
    const again = { ...plan, campaignRevision: 7 };
    spec.given([started, compensated]).when({ type: 'StartLaunch', data: again }).then([{ type: 'LaunchStarted', data: again }]);
    spec.given([started, compensated]).when(COMMANDS.StartLaunch).then([]);
    expect(spec.given([started, compensated, { type: 'LaunchStarted', data: again }]).state).toMatchObject({ status: 'started', plan: { campaignRevision: 7 } });
  });

  it('cancel and fail remember the round they ended in', () => {
    expect(spec.given([started, frozen, delivering, completed, resend, cancelled]).state).toMatchObject({ status: 'cancelled', round: 2 });
    expect(spec.given([started, failed]).state).toMatchObject({ status: 'failed', round: 0 });
  });
});

describe('render-failure threshold', () => {
  it('pauses above 10 % of at least 50 attempts since the baseline', () => {
    expect(renderFailuresExceeded({ attempted: 0, renderFailed: 0 }, { attempted: 49, renderFailed: 49 })).toBe(false);
    expect(renderFailuresExceeded({ attempted: 0, renderFailed: 0 }, { attempted: 50, renderFailed: 5 })).toBe(false);
    expect(renderFailuresExceeded({ attempted: 0, renderFailed: 0 }, { attempted: 50, renderFailed: 6 })).toBe(true);
    // After a resume only the new attempts count.
    expect(renderFailuresExceeded({ attempted: 60, renderFailed: 10 }, { attempted: 100, renderFailed: 14 })).toBe(false);
    expect(renderFailuresExceeded({ attempted: 60, renderFailed: 10 }, { attempted: 110, renderFailed: 16 })).toBe(true);
  });
});
