import type { Decider } from '../shared/decider.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { CampaignCommand } from './commands.js';
import type { CampaignEvent, CampaignSettings } from './events.js';
import { evolveCampaign, initialCampaignState, settingsOf, type CampaignState, type ExistingCampaign } from './state.js';
import { canonicalTimeZone, resolveSendTime } from './time.js';
import { validateVariants } from './variants.js';
import { NoTestPhaseError, testPhaseOf, WinnerAlreadyChosenError, WinnerPickedByHandError } from './winner.js';

type Status = ExistingCampaign['status'];

/** Settings that decide who gets what; they are frozen once the campaign is launched. */
const AUDIENCE_AND_CONTENT: readonly (keyof CampaignSettings)[] = ['sender', 'replyTo', 'segmentId', 'templateId', 'templateVersion', 'topic'];

function refuse(state: ExistingCampaign, what: string): never {
  throw new InvalidTransitionError('campaign', state.status, what);
}

function requireStatus(state: ExistingCampaign, command: CampaignCommand['type'], allowed: readonly Status[]): void {
  if (!allowed.includes(state.status)) refuse(state, command);
}

/** Before a campaign is scheduled or launched it must say to whom, from whom and what. */
function requireReadyToSend(state: ExistingCampaign, action: string): void {
  const missing: { field: string; label: string }[] = [];
  if (state.settings.segmentId === null) missing.push({ field: 'segmentId', label: 'segment (segmentId)' });
  if (state.settings.templateId === null && state.variants === null) missing.push({ field: 'templateId', label: 'template (templateId) or variants' });
  if (state.settings.sender === null) missing.push({ field: 'sender', label: 'sender' });
  const first = missing[0];
  if (first !== undefined) {
    throw new ValidationError(`The campaign cannot be ${action}: it has no ${missing.map((m) => m.label).join(', no ')}. Set them with UpdateCampaign first.`, first.field);
  }
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function decideUpdate(state: ExistingCampaign, changes: Partial<CampaignSettings>, at: string): CampaignEvent[] {
  requireStatus(state, 'UpdateCampaign', ['draft', 'scheduled', 'running', 'paused']);
  const settings = settingsOf({ ...state.settings, ...changes });
  const changed = (Object.keys(settings) as (keyof CampaignSettings)[]).filter((key) => !sameJson(settings[key], state.settings[key]));
  if (changed.length === 0) return [];
  if (state.status === 'running' || state.status === 'paused') {
    const frozen = changed.filter((key) => AUDIENCE_AND_CONTENT.includes(key));
    if (frozen.length > 0) refuse(state, `Changing ${frozen.join(', ')}`);
  }
  const events: CampaignEvent[] = [{ type: 'CampaignUpdated', data: { ...settings, updatedAt: at } }];
  if (state.status === 'scheduled') requireReadyToSend(evolveCampaign(state, events[0]!) as ExistingCampaign, 'left scheduled');
  return events;
}

function decideSchedule(state: ExistingCampaign, data: { at: string; timeZone: string; now: string }): CampaignEvent[] {
  requireStatus(state, 'ScheduleCampaign', ['draft', 'scheduled']);
  const timeZone = canonicalTimeZone(data.timeZone);
  if (timeZone === null) throw new ValidationError(`Unknown time zone ${JSON.stringify(data.timeZone)}; use an IANA name such as Europe/Berlin or UTC.`, 'input.timeZone');
  const sendAt = resolveSendTime(data.at, timeZone);
  if (sendAt === null) throw new ValidationError('at must be an ISO 8601 date-time, e.g. 2025-03-01T09:00:00Z, or 2025-03-01T09:00 in the time zone.', 'input.at');
  if (sendAt.getTime() <= Date.parse(data.now)) throw new ValidationError(`at (${sendAt.toISOString()}) is in the past; a campaign can only be scheduled for the future.`, 'input.at');
  requireReadyToSend(state, 'scheduled');
  const at = sendAt.toISOString();
  if (state.status === 'scheduled' && state.scheduledAt === at && state.timeZone === timeZone) return [];
  return [{ type: 'CampaignScheduled', data: { at, timeZone, scheduledAt: data.now } }];
}

function decideLaunch(state: ExistingCampaign, data: { at: string; by: string; scheduledFor: string | null }): CampaignEvent[] {
  requireStatus(state, 'LaunchCampaign', ['draft', 'scheduled']);
  let scheduledFor: string | null = null;
  if (data.scheduledFor !== null) {
    // A launch by the scheduler: only for the schedule it saw, and only once that time has come.
    if (state.status !== 'scheduled' || Date.parse(state.scheduledAt) !== Date.parse(data.scheduledFor)) refuse(state, `Launching for the schedule ${data.scheduledFor}`);
    if (Date.parse(state.scheduledAt) > Date.parse(data.at)) refuse(state, `Launching before ${state.scheduledAt}`);
    scheduledFor = state.scheduledAt;
  }
  requireReadyToSend(state, 'launched');
  return [{ type: 'CampaignLaunched', data: { at: data.at, by: data.by, scheduledFor } }];
}

function decideWinner(state: ExistingCampaign, data: Extract<CampaignCommand, { type: 'ChooseCampaignWinner' }>['data']): CampaignEvent[] {
  requireStatus(state, 'ChooseCampaignWinner', ['running', 'paused']);
  const test = testPhaseOf(state.variants);
  if (test === null) throw new NoTestPhaseError(state.status);
  if (state.winner !== null) throw new WinnerAlreadyChosenError(state.status, state.winner.variantKey, state.winner.by);
  if (data.by === 'auto' && test.winnerAfterHours === null) throw new WinnerPickedByHandError(state.status);
  const keys = test.variants.map((v) => v.key);
  if (!keys.includes(data.variantKey)) throw new ValidationError(`variantKey must be one of ${keys.join(', ')}.`, 'input.variantKey');
  const { variantKey, by, values, at } = data;
  return [{ type: 'CampaignWinnerChosen', data: { variantKey, by, metric: test.winnerMetric, values, at } }];
}

export function decideCampaign(command: CampaignCommand, state: CampaignState): CampaignEvent[] {
  if (command.type === 'CreateCampaign') {
    if (state.status !== 'none') throw new InvalidTransitionError('campaign', state.status, command.type);
    const { campaignId, at } = command.data;
    return [{ type: 'CampaignCreated', data: { campaignId, ...settingsOf(command.data), createdAt: at } }];
  }
  if (state.status === 'none') throw new NotFoundError('campaign');
  switch (command.type) {
    case 'UpdateCampaign':
      return decideUpdate(state, command.data.changes, command.data.at);
    case 'DefineCampaignVariants': {
      requireStatus(state, command.type, ['draft', 'scheduled']);
      const { variants, testSamplePercent, winnerMetric, winnerAfterHours, at } = command.data;
      const definition = { variants, testSamplePercent, winnerMetric, winnerAfterHours };
      validateVariants(definition);
      if (sameJson(definition, state.variants)) return [];
      return [{ type: 'CampaignVariantsDefined', data: { ...definition, definedAt: at } }];
    }
    case 'ScheduleCampaign':
      return decideSchedule(state, command.data);
    case 'UnscheduleCampaign':
      if (state.status !== 'scheduled') refuse(state, command.type);
      return [{ type: 'CampaignUnscheduled', data: { previousAt: state.scheduledAt, unscheduledAt: command.data.at } }];
    case 'LaunchCampaign':
      return decideLaunch(state, command.data);
    case 'PauseCampaign':
      requireStatus(state, command.type, ['running']);
      return [{ type: 'CampaignPaused', data: { at: command.data.at, reason: command.data.reason } }];
    case 'ResumeCampaign':
      requireStatus(state, command.type, ['paused']);
      return [{ type: 'CampaignResumed', data: { at: command.data.at } }];
    case 'CancelCampaign':
      requireStatus(state, command.type, ['draft', 'scheduled', 'running', 'paused']);
      return [{ type: 'CampaignCancelled', data: { at: command.data.at, reason: command.data.reason } }];
    case 'ChooseCampaignWinner':
      return decideWinner(state, command.data);
    case 'CompleteCampaign':
      requireStatus(state, command.type, ['running', 'paused']);
      return [{ type: 'CampaignCompleted', data: { at: command.data.at, counts: command.data.counts } }];
    case 'FailCampaign':
      requireStatus(state, command.type, ['scheduled', 'running', 'paused']);
      return [{ type: 'CampaignFailed', data: { at: command.data.at, reason: command.data.reason } }];
    case 'RevertCampaignLaunch':
      requireStatus(state, command.type, ['running', 'paused']);
      return [{ type: 'CampaignLaunchReverted', data: command.data }];
  }
}

export const campaignDecider: Decider<CampaignCommand, CampaignState, CampaignEvent> = {
  initialState: initialCampaignState,
  evolve: evolveCampaign,
  decide: decideCampaign,
};
