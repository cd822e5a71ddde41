/**
 * The campaign aggregate's side of compensation (RevertCampaignLaunch → CampaignLaunchReverted), which the launch
 * saga issues when a launch is compensated before its first email. Given/when/then over the campaign decider.
 */
import { describe, expect, it } from 'vitest';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import type { CampaignEvent } from '../../../src/domain/campaigns/events.js';
import { InvalidTransitionError } from '../../../src/domain/shared/errors.js';
import { deciderSpec } from '../../support/decider.js';

const spec = deciderSpec(campaignDecider);
const AT = '2025-03-02T09:05:00.000Z';
const SEND_AT = '2025-03-02T09:00:00.000Z';
const settings = { name: 'Spring', sender: { email: 'news@shop.test', name: null }, replyTo: null, segmentId: 'vips', templateId: '11111111-1111-4111-8111-111111111111', templateVersion: 1, topic: null };
const created: CampaignEvent = { type: 'CampaignCreated', data: { campaignId: 'c1', ...settings, createdAt: AT } };
const scheduled: CampaignEvent = { type: 'CampaignScheduled', data: { at: SEND_AT, timeZone: 'Europe/Berlin', scheduledAt: AT } };
const launched: CampaignEvent = { type: 'CampaignLaunched', data: { at: AT, by: 'scheduler', scheduledFor: SEND_AT } };
const paused: CampaignEvent = { type: 'CampaignPaused', data: { at: AT, reason: null } };
const toDraft: CampaignCommand = { type: 'RevertCampaignLaunch', data: { to: 'draft', scheduledAt: null, timeZone: null, reason: 'segment vips is deleted', at: AT } };
const toScheduled: CampaignCommand = { type: 'RevertCampaignLaunch', data: { to: 'scheduled', scheduledAt: SEND_AT, timeZone: 'Europe/Berlin', reason: 'SMTP provider unavailable', at: AT } };

describe('campaign aggregate: RevertCampaignLaunch', () => {
  it('a running or paused campaign returns to draft, with the reason', () => {
    spec.given([created, launched]).when(toDraft).then([{ type: 'CampaignLaunchReverted', data: toDraft.data } as CampaignEvent]);
    spec.given([created, launched, paused]).when(toDraft).then([{ type: 'CampaignLaunchReverted', data: toDraft.data } as CampaignEvent]);
    const reverted = spec.given([created, launched, { type: 'CampaignLaunchReverted', data: toDraft.data } as CampaignEvent]).state;
    expect(reverted).toMatchObject({ status: 'draft', settings: { segmentId: 'vips' } });
  });

  it('a campaign launched from a schedule returns to scheduled at its time and zone, and can be launched again', () => {
    const history: CampaignEvent[] = [created, scheduled, launched, { type: 'CampaignLaunchReverted', data: toScheduled.data } as CampaignEvent];
    expect(spec.given(history).state).toMatchObject({ status: 'scheduled', scheduledAt: SEND_AT, timeZone: 'Europe/Berlin' });
    spec.given(history).when({ type: 'LaunchCampaign', data: { at: AT, by: 'apikey:k1', scheduledFor: null } }).then([{ type: 'CampaignLaunched', data: { at: AT, by: 'apikey:k1', scheduledFor: null } }]);
  });

  it.each(['draft', 'scheduled', 'completed', 'cancelled'] as const)('is refused when the campaign is %s', (status) => {
    const ends: Record<typeof status, CampaignEvent[]> = {
      draft: [created],
      scheduled: [created, scheduled],
      completed: [created, launched, { type: 'CampaignCompleted', data: { at: AT, counts: { audience: 1, sent: 1, failed: 0, skipped: 0 } } }],
      cancelled: [created, { type: 'CampaignCancelled', data: { at: AT, reason: null } }],
    };
    spec.given(ends[status]).when(toDraft).thenThrows(InvalidTransitionError, new RegExp(`when the campaign is ${status}`));
  });
});
