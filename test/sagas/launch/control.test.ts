/**
 * Pause, resume and cancel while two workers deliver one launch side by side (they share the ledger through
 * SKIP LOCKED claims), with a slow provider so that there is time to act mid-delivery.
 */
import { describe, expect, it } from 'vitest';
import { findCampaign } from '../../../src/projections/campaigns/queries.js';
import { TEST_SETTINGS } from './support.js';
import {
  campaign,
  createCampaign,
  createContacts,
  createTemplate,
  defineSegment,
  emailsOf,
  launch,
  useLaunchWorld,
  waitFor,
  waitForLaunch,
  type LaunchWorld,
} from './support.js';

// At the top level, so that the world's afterAll hooks register (vitest ignores hooks registered inside hooks).
const world: LaunchWorld = await useLaunchWorld('launch_control');
const BATCH = 5;

for (const workerId of ['worker-a', 'worker-b']) world.startWorker({ workerId, smtp: { ratePerSecond: 12 }, settings: { ...TEST_SETTINGS, batchSize: BATCH } });

async function slowLaunch(tag: string, size: number) {
  const emails = emailsOf(size, tag);
  await createContacts(world, emails.map((email) => ({ email, tags: [tag] })));
  const segmentId = await defineSegment(world, { tag });
  const templateId = await createTemplate(world, { subject: 'Slow', html: '<p>Slow</p>' });
  const campaignId = await createCampaign(world, { segmentId, templateId });
  await launch(world, campaignId);
  const sent = () => world.sink.accepted.filter((m) => emails.includes(m.to[0]!));
  return { emails, campaignId, sent };
}

const now = () => new Date().toISOString();

describe('launch saga: pause, resume, cancel', () => {
  it('pause stops new sends within one batch per worker; resume continues where it stopped; everyone gets one email', async () => {
    const { emails, campaignId, sent } = await slowLaunch('pausing', 60);
    await waitFor(() => sent().length >= 10, '10 sends');
    await campaign(world, campaignId, { type: 'PauseCampaign', data: { at: now(), reason: 'checking the copy' } });
    const paused = await waitForLaunch(world, campaignId, ['paused']);
    const pausedAt = performance.now();
    expect(paused.state).toMatchObject({ status: 'paused', pause: { by: 'user', reason: 'checking the copy' } });
    // What was in flight when LaunchPaused was recorded may still go out: at most one batch per worker.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const afterPause = sent().filter((m) => m.acceptedAt > pausedAt).length;
    expect(afterPause).toBeLessThanOrEqual(2 * BATCH);
    const whilePaused = sent().length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sent().length).toBe(whilePaused);
    expect(whilePaused).toBeLessThan(60);

    await campaign(world, campaignId, { type: 'ResumeCampaign', data: { at: now() } });
    const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
    expect(done.state).toMatchObject({ counts: { audience: 60, sent: 60 } });
    for (const email of emails) expect(world.sink.countFor(email), email).toBe(1);
    const types = done.events.map((e) => e.type);
    expect(types).toEqual(['LaunchStarted', 'AudienceFrozen', 'DeliveryStarted', 'LaunchPaused', 'LaunchResumed', 'LaunchCompleted']);
    const claimedBy = await world.env.db.selectFrom('delivery_ledger').select('claimed_by').distinct().where('campaign_id', '=', campaignId).execute();
    expect(claimedBy.map((r) => r.claimed_by).sort()).toEqual(['worker-a', 'worker-b']);
    await world.caughtUp();
    expect((await findCampaign(world.env.db, world.workspaceId, campaignId))?.status).toBe('completed');
  }, 50_000);

  it('cancel releases what was not sent, ends with counts, and nothing more goes out', async () => {
    const { emails, campaignId, sent } = await slowLaunch('cancelling', 60);
    await waitFor(() => sent().length >= 10, '10 sends');
    await campaign(world, campaignId, { type: 'CancelCampaign', data: { at: now(), reason: 'wrong list' } });
    const cancelled = await waitForLaunch(world, campaignId, ['cancelled']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const total = sent().length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sent().length).toBe(total);
    expect(total).toBeLessThan(60);
    for (const email of emails) expect(world.sink.countFor(email)).toBeLessThanOrEqual(1);

    // Counts: taken when the launch was cancelled; what was in flight then is 'unknown' in them.
    const counts = (cancelled.state as { counts: { audience: number; sent: number; failed: number; unknown: number; cancelled: number } }).counts;
    expect(counts.audience).toBe(60);
    expect(counts.sent + counts.failed + counts.unknown + counts.cancelled).toBe(60);
    expect(counts.sent).toBeLessThanOrEqual(total);
    expect(counts.cancelled).toBeGreaterThan(0);
    const rows = await world.env.db.selectFrom('delivery_ledger').select(['status']).where('campaign_id', '=', campaignId).execute();
    expect(rows.filter((r) => r.status === 'pending')).toEqual([]);
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(total);
    await world.caughtUp();
    expect((await findCampaign(world.env.db, world.workspaceId, campaignId))?.status).toBe('cancelled');
  }, 40_000);
});
