import { expect } from 'vitest';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import type { CampaignEvent, CampaignSettings, CampaignVariants } from '../../../src/domain/campaigns/events.js';
import type { CampaignStatus } from '../../../src/domain/campaigns/state.js';
import { ValidationError } from '../../../src/domain/shared/errors.js';

export const NOW = '2025-03-01T08:00:00.000Z';
export const SEND_AT = '2025-03-02T09:00:00.000Z';
export const LATER = '2025-03-02T09:05:00.000Z';
export const T1 = '11111111-1111-4111-8111-111111111111';
export const T2 = '22222222-2222-4222-8222-222222222222';

export const ready: CampaignSettings = {
  name: 'Spring sale',
  sender: { email: 'news@shop.test', name: 'Shop' },
  replyTo: null,
  segmentId: 'vips',
  templateId: T1,
  templateVersion: 3,
  topic: 'newsletter',
};

export const bare: CampaignSettings = { name: 'Draft', sender: null, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic: null };

export const abTest: CampaignVariants = {
  variants: [
    { key: 'A', templateId: T1, templateVersion: 3, subject: null, splitPercent: 50 },
    { key: 'B', templateId: T2, templateVersion: 1, subject: 'Last chance, {{ contact.first_name }}', splitPercent: 50 },
  ],
  testSamplePercent: 20,
  winnerMetric: 'open_rate',
  winnerAfterHours: 4,
};

export const created: CampaignEvent = { type: 'CampaignCreated', data: { campaignId: 'c1', ...ready, createdAt: NOW } };
export const createdBare: CampaignEvent = { type: 'CampaignCreated', data: { campaignId: 'c1', ...bare, createdAt: NOW } };
export const variantsDefined: CampaignEvent = { type: 'CampaignVariantsDefined', data: { ...abTest, definedAt: NOW } };
export const scheduled: CampaignEvent = { type: 'CampaignScheduled', data: { at: SEND_AT, timeZone: 'Europe/Berlin', scheduledAt: NOW } };
export const launched: CampaignEvent = { type: 'CampaignLaunched', data: { at: LATER, by: 'apikey:k1', scheduledFor: null } };
export const paused: CampaignEvent = { type: 'CampaignPaused', data: { at: LATER, reason: null } };
export const completed: CampaignEvent = { type: 'CampaignCompleted', data: { at: LATER, counts: { audience: 10, sent: 9, failed: 1, skipped: 0 } } };
export const cancelled: CampaignEvent = { type: 'CampaignCancelled', data: { at: LATER, reason: 'wrong list' } };
export const failed: CampaignEvent = { type: 'CampaignFailed', data: { at: LATER, reason: 'SMTP down' } };

/** A history that ends in each status (with variants, so every command can apply). */
export const HISTORY: Readonly<Record<Exclude<CampaignStatus, 'none'>, readonly CampaignEvent[]>> = {
  draft: [created, variantsDefined],
  scheduled: [created, variantsDefined, scheduled],
  running: [created, variantsDefined, launched],
  paused: [created, variantsDefined, launched, paused],
  completed: [created, variantsDefined, launched, completed],
  cancelled: [created, variantsDefined, cancelled],
  failed: [created, variantsDefined, launched, failed],
};

/** One valid command of each type (in a state that allows it). */
export const COMMANDS: Readonly<Record<Exclude<CampaignCommand['type'], 'CreateCampaign'>, CampaignCommand>> = {
  UpdateCampaign: { type: 'UpdateCampaign', data: { changes: { segmentId: 'others' }, at: LATER } },
  DefineCampaignVariants: { type: 'DefineCampaignVariants', data: { ...abTest, testSamplePercent: 30, at: LATER } },
  ScheduleCampaign: { type: 'ScheduleCampaign', data: { at: '2025-03-05T09:00:00Z', timeZone: 'UTC', now: NOW } },
  UnscheduleCampaign: { type: 'UnscheduleCampaign', data: { at: LATER } },
  RevertCampaignLaunch: { type: 'RevertCampaignLaunch', data: { to: 'draft', scheduledAt: null, timeZone: null, reason: 'x', at: LATER } },
  LaunchCampaign: { type: 'LaunchCampaign', data: { at: LATER, by: 'apikey:k1', scheduledFor: null } },
  PauseCampaign: { type: 'PauseCampaign', data: { at: LATER, reason: null } },
  ResumeCampaign: { type: 'ResumeCampaign', data: { at: LATER } },
  CancelCampaign: { type: 'CancelCampaign', data: { at: LATER, reason: null } },
  ChooseCampaignWinner: { type: 'ChooseCampaignWinner', data: { variantKey: 'B', by: 'manual', values: {}, at: LATER } },
  CompleteCampaign: { type: 'CompleteCampaign', data: { at: LATER, counts: { audience: 1, sent: 1, failed: 0, skipped: 0 } } },
  FailCampaign: { type: 'FailCampaign', data: { at: LATER, reason: 'x' } },
};

/** Runs decide on the folded history and returns the ValidationError it throws (fails the test otherwise). */
export function validationErrorOf(history: readonly CampaignEvent[], command: CampaignCommand): ValidationError {
  const state = history.reduce(campaignDecider.evolve, campaignDecider.initialState());
  let thrown: unknown;
  try {
    campaignDecider.decide(command, state);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  return thrown as ValidationError;
}
