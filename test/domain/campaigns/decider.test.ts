import { describe, expect, it } from 'vitest';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import type { CampaignEvent } from '../../../src/domain/campaigns/events.js';
import { NoTestPhaseError, WinnerAlreadyChosenError, WinnerPickedByHandError } from '../../../src/domain/campaigns/winner.js';
import { InvalidTransitionError, NotFoundError } from '../../../src/domain/shared/errors.js';
import { deciderSpec } from '../../support/decider.js';
import {
  abTest,
  bare,
  cancelled,
  COMMANDS,
  completed,
  created,
  createdBare,
  failed,
  HISTORY,
  LATER,
  launched,
  NOW,
  paused,
  ready,
  scheduled,
  SEND_AT,
  validationErrorOf,
  variantsDefined,
} from './fixtures.js';

const spec = deciderSpec(campaignDecider);

/** Which statuses allow each command; every other status must refuse it with InvalidTransitionError. */
const ALLOWED: Readonly<Record<keyof typeof COMMANDS, readonly string[]>> = {
  UpdateCampaign: ['draft', 'scheduled'],
  RevertCampaignLaunch: ['running', 'paused'],
  DefineCampaignVariants: ['draft', 'scheduled'],
  ScheduleCampaign: ['draft', 'scheduled'],
  UnscheduleCampaign: ['scheduled'],
  LaunchCampaign: ['draft', 'scheduled'],
  PauseCampaign: ['running'],
  ResumeCampaign: ['paused'],
  CancelCampaign: ['draft', 'scheduled', 'running', 'paused'],
  ChooseCampaignWinner: ['running', 'paused'],
  CompleteCampaign: ['running', 'paused'],
  FailCampaign: ['scheduled', 'running', 'paused'],
};

const cases = Object.entries(ALLOWED).flatMap(([command, allowed]) =>
  Object.keys(HISTORY).map((status) => ({ command: command as keyof typeof COMMANDS, status: status as keyof typeof HISTORY, allowed: allowed.includes(status) })),
);

describe('campaign aggregate: the transition table', () => {
  it.each(cases.filter((c) => !c.allowed))('$command is refused when the campaign is $status', ({ command, status }) => {
    spec.given(HISTORY[status]).when(COMMANDS[command]).thenThrows(InvalidTransitionError, new RegExp(`when the campaign is ${status}`));
  });

  it.each(cases.filter((c) => c.allowed))('$command is accepted when the campaign is $status', ({ command, status }) => {
    expect(campaignDecider.decide(COMMANDS[command], spec.given(HISTORY[status]).state).length).toBe(1);
  });

  it.each(Object.values(COMMANDS))('$type on a campaign that was never created is NOT_FOUND', (command) => {
    spec.given([]).when(command).thenThrows(NotFoundError);
  });

  it('CreateCampaign creates a draft; twice is an invalid transition', () => {
    spec.given([]).when({ type: 'CreateCampaign', data: { campaignId: 'c1', ...ready, at: NOW } }).then([created]);
    spec.given([created]).when({ type: 'CreateCampaign', data: { campaignId: 'c1', ...ready, at: NOW } }).thenThrows(InvalidTransitionError, /draft/);
  });
});

describe('campaign aggregate: editing', () => {
  it('UpdateCampaign records the complete settings after the change', () => {
    spec.given([created]).when({ type: 'UpdateCampaign', data: { changes: { name: 'Summer sale', replyTo: 'help@shop.test' }, at: LATER } }).then([
      { type: 'CampaignUpdated', data: { ...ready, name: 'Summer sale', replyTo: 'help@shop.test', updatedAt: LATER } },
    ]);
  });

  it('UpdateCampaign without an actual change records nothing', () => {
    spec.given([created]).when({ type: 'UpdateCampaign', data: { changes: { name: ready.name, segmentId: 'vips' }, at: LATER } }).then([]);
  });

  it("a running or paused campaign's audience and content are frozen; its name is not", () => {
    spec.given([created, launched]).when({ type: 'UpdateCampaign', data: { changes: { segmentId: 'everyone' }, at: LATER } }).thenThrows(InvalidTransitionError, /Changing segmentId is not allowed when the campaign is running/);
    spec.given([created, launched, paused]).when({ type: 'UpdateCampaign', data: { changes: { templateId: 'other', templateVersion: 1 }, at: LATER } }).thenThrows(InvalidTransitionError, /Changing templateId, templateVersion .* paused/);
    spec.given([created, launched]).when({ type: 'UpdateCampaign', data: { changes: { name: 'Renamed' }, at: LATER } }).then([{ type: 'CampaignUpdated', data: { ...ready, name: 'Renamed', updatedAt: LATER } }]);
  });

  it('a scheduled campaign cannot lose what it needs to be sent', () => {
    const error = validationErrorOfUpdate({ segmentId: null });
    expect(error.field).toBe('segmentId');
    expect(error.message).toMatch(/no segment \(segmentId\)/);
  });

  it('DefineCampaignVariants records the test; the same definition again records nothing', () => {
    spec.given([created]).when({ type: 'DefineCampaignVariants', data: { ...abTest, at: NOW } }).then([variantsDefined]);
    spec.given([created, variantsDefined]).when({ type: 'DefineCampaignVariants', data: { ...abTest, at: LATER } }).then([]);
  });
});

describe('campaign aggregate: schedule and launch', () => {
  it('ScheduleCampaign stores the instant in UTC and the canonical time zone', () => {
    spec.given([created]).when({ type: 'ScheduleCampaign', data: { at: '2025-03-02T10:00:00+01:00', timeZone: 'europe/berlin', now: NOW } }).then([scheduled]);
  });

  it('a wall-clock time is read in the time zone', () => {
    spec.given([created]).when({ type: 'ScheduleCampaign', data: { at: '2025-03-02T10:00', timeZone: 'Europe/Berlin', now: NOW } }).then([scheduled]);
    spec.given([created]).when({ type: 'ScheduleCampaign', data: { at: '2025-07-02T10:00', timeZone: 'America/New_York', now: NOW } }).then([
      { type: 'CampaignScheduled', data: { at: '2025-07-02T14:00:00.000Z', timeZone: 'America/New_York', scheduledAt: NOW } },
    ]);
  });

  it('rescheduling moves the time; the same schedule again records nothing', () => {
    spec.given([created, scheduled]).when({ type: 'ScheduleCampaign', data: { at: '2025-03-03T09:00:00Z', timeZone: 'UTC', now: NOW } }).then([
      { type: 'CampaignScheduled', data: { at: '2025-03-03T09:00:00.000Z', timeZone: 'UTC', scheduledAt: NOW } },
    ]);
    spec.given([created, scheduled]).when({ type: 'ScheduleCampaign', data: { at: SEND_AT, timeZone: 'Europe/Berlin', now: NOW } }).then([]);
  });

  it('a time in the past, an invalid time or an unknown time zone is a ValidationError naming the input', () => {
    const past = validationErrorOf([created], { type: 'ScheduleCampaign', data: { at: '2025-02-28T09:00:00Z', timeZone: 'UTC', now: NOW } });
    expect([past.field, past.message]).toEqual(['input.at', expect.stringMatching(/in the past/)]);
    expect(validationErrorOf([created], { type: 'ScheduleCampaign', data: { at: NOW, timeZone: 'UTC', now: NOW } }).field).toBe('input.at');
    expect(validationErrorOf([created], { type: 'ScheduleCampaign', data: { at: 'tomorrow', timeZone: 'UTC', now: NOW } }).field).toBe('input.at');
    expect(validationErrorOf([created], { type: 'ScheduleCampaign', data: { at: '2025-02-30T09:00', timeZone: 'UTC', now: NOW } }).field).toBe('input.at');
    const zone = validationErrorOf([created], { type: 'ScheduleCampaign', data: { at: SEND_AT, timeZone: 'Mars/Olympus_Mons', now: NOW } });
    expect([zone.field, zone.message]).toEqual(['input.timeZone', expect.stringMatching(/Unknown time zone "Mars\/Olympus_Mons"/)]);
  });

  it('scheduling or launching without segment, template and sender names what is missing', () => {
    const schedule = validationErrorOf([createdBare], { type: 'ScheduleCampaign', data: { at: SEND_AT, timeZone: 'UTC', now: NOW } });
    expect(schedule.field).toBe('segmentId');
    expect(schedule.message).toMatch(/cannot be scheduled: it has no segment \(segmentId\), no template \(templateId\) or variants, no sender/);
    const launch = validationErrorOf([createdBare, { type: 'CampaignUpdated', data: { ...bare, segmentId: 'vips', sender: ready.sender, updatedAt: NOW } }], COMMANDS.LaunchCampaign);
    expect([launch.field, launch.message]).toEqual(['templateId', expect.stringMatching(/cannot be launched: it has no template/)]);
  });

  it('variants stand in for the template', () => {
    const withoutTemplate: CampaignEvent = { type: 'CampaignUpdated', data: { ...ready, templateId: null, templateVersion: null, updatedAt: NOW } };
    spec.given([created, withoutTemplate, variantsDefined]).when(COMMANDS.LaunchCampaign).then([launched]);
  });

  it('UnscheduleCampaign returns it to draft', () => {
    spec.given([created, scheduled]).when({ type: 'UnscheduleCampaign', data: { at: LATER } }).then([{ type: 'CampaignUnscheduled', data: { previousAt: SEND_AT, unscheduledAt: LATER } }]);
    expect(spec.given([created, scheduled, { type: 'CampaignUnscheduled', data: { previousAt: SEND_AT, unscheduledAt: LATER } }]).state.status).toBe('draft');
  });

  it('LaunchCampaign by hand starts a draft or a scheduled campaign at once', () => {
    spec.given([created]).when(COMMANDS.LaunchCampaign).then([launched]);
    spec.given([created, scheduled]).when(COMMANDS.LaunchCampaign).then([launched]);
  });

  it('the scheduler launches only the schedule it saw, once its time has come', () => {
    const bySchedule: CampaignCommand = { type: 'LaunchCampaign', data: { at: LATER, by: 'scheduler', scheduledFor: SEND_AT } };
    spec.given([created, scheduled]).when(bySchedule).then([{ type: 'CampaignLaunched', data: { at: LATER, by: 'scheduler', scheduledFor: SEND_AT } }]);
    const moved: CampaignEvent = { type: 'CampaignScheduled', data: { at: '2025-03-09T09:00:00.000Z', timeZone: 'UTC', scheduledAt: NOW } };
    spec.given([created, scheduled, moved]).when(bySchedule).thenThrows(InvalidTransitionError, /Launching for the schedule/);
    spec.given([created]).when(bySchedule).thenThrows(InvalidTransitionError, /draft/);
    spec.given([created, scheduled]).when({ type: 'LaunchCampaign', data: { at: NOW, by: 'scheduler', scheduledFor: SEND_AT } }).thenThrows(InvalidTransitionError, /Launching before/);
  });
});

describe('campaign aggregate: running', () => {
  it('pause, resume, complete, cancel and fail', () => {
    spec.given([created, launched]).when(COMMANDS.PauseCampaign).then([paused]);
    spec.given([created, launched, paused]).when(COMMANDS.ResumeCampaign).then([{ type: 'CampaignResumed', data: { at: LATER } }]);
    spec.given([created, launched]).when({ type: 'CompleteCampaign', data: { at: LATER, counts: { audience: 10, sent: 9, failed: 1, skipped: 0 } } }).then([completed]);
    spec.given([created, launched]).when({ type: 'CancelCampaign', data: { at: LATER, reason: 'wrong list' } }).then([cancelled]);
    spec.given([created, launched]).when({ type: 'FailCampaign', data: { at: LATER, reason: 'SMTP down' } }).then([failed]);
  });

  it('the fold keeps launch facts across pause and resume', () => {
    const state = spec.given([created, launched, paused, { type: 'CampaignResumed', data: { at: LATER } }]).state;
    expect(state).toMatchObject({ status: 'running', launchedAt: LATER, launchedBy: 'apikey:k1' });
  });
});

describe('campaign aggregate: A/B winner', () => {
  const running = [created, variantsDefined, launched];

  it('a winner is chosen once, among the variants, with the metric values', () => {
    spec.given(running).when({ type: 'ChooseCampaignWinner', data: { variantKey: 'B', by: 'manual', values: { A: 0.2, B: 0.3 }, at: LATER } }).then([
      { type: 'CampaignWinnerChosen', data: { variantKey: 'B', by: 'manual', metric: 'open_rate', values: { A: 0.2, B: 0.3 }, at: LATER } },
    ]);
    const chosen: CampaignEvent = { type: 'CampaignWinnerChosen', data: { variantKey: 'B', by: 'auto', metric: 'open_rate', values: {}, at: LATER } };
    spec.given([...running, chosen]).when(COMMANDS.ChooseCampaignWinner).thenThrows(InvalidTransitionError, /variant B was chosen/);
    expect(validationErrorOf(running, { type: 'ChooseCampaignWinner', data: { variantKey: 'C', by: 'manual', values: {}, at: LATER } }).field).toBe('input.variantKey');
  });

  it('without a test phase (no variants, or a 100 % sample), or automatically when it is to be picked by hand, is refused', () => {
    spec.given([created, launched]).when(COMMANDS.ChooseCampaignWinner).thenThrows(NoTestPhaseError, /without an A\/B test phase/);
    const wholeAudience: CampaignEvent = { type: 'CampaignVariantsDefined', data: { ...abTest, testSamplePercent: 100, definedAt: NOW } };
    spec.given([created, wholeAudience, launched]).when(COMMANDS.ChooseCampaignWinner).thenThrows(NoTestPhaseError);
    const byHand: CampaignEvent = { type: 'CampaignVariantsDefined', data: { ...abTest, winnerAfterHours: null, definedAt: NOW } };
    spec.given([created, byHand, launched]).when({ type: 'ChooseCampaignWinner', data: { variantKey: 'A', by: 'auto', values: {}, at: LATER } }).thenThrows(WinnerPickedByHandError, /picked by hand/);
  });

  it('by hand after an automatic choice, or twice by hand, is WinnerAlreadyChosen', () => {
    const auto: CampaignEvent = { type: 'CampaignWinnerChosen', data: { variantKey: 'A', by: 'auto', metric: 'open_rate', values: { A: 0.5, B: 0.1 }, at: LATER } };
    spec.given([...running, auto]).when(COMMANDS.ChooseCampaignWinner).thenThrows(WinnerAlreadyChosenError, /variant A was chosen automatically/);
    const manual: CampaignEvent = { type: 'CampaignWinnerChosen', data: { variantKey: 'B', by: 'manual', metric: 'open_rate', values: {}, at: LATER } };
    spec.given([...running, manual]).when(COMMANDS.ChooseCampaignWinner).thenThrows(WinnerAlreadyChosenError, /by hand/);
    spec.given([...running, paused, manual]).when({ type: 'ChooseCampaignWinner', data: { variantKey: 'A', by: 'auto', values: {}, at: LATER } }).thenThrows(WinnerAlreadyChosenError);
  });

  it('a reverted launch forgets the winner of its test', () => {
    const chosen: CampaignEvent = { type: 'CampaignWinnerChosen', data: { variantKey: 'B', by: 'manual', metric: 'open_rate', values: {}, at: LATER } };
    const reverted: CampaignEvent = { type: 'CampaignLaunchReverted', data: { to: 'draft', scheduledAt: null, timeZone: null, reason: 'SMTP down', at: LATER } };
    expect(spec.given([...running, chosen, reverted]).state).toMatchObject({ status: 'draft', winner: null });
  });
});

function validationErrorOfUpdate(changes: Record<string, unknown>) {
  return validationErrorOf([created, scheduled], { type: 'UpdateCampaign', data: { changes, at: LATER } });
}
