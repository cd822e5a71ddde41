/**
 * Before the first email every failure compensates: LaunchCompensated with the reason, the audience released, the
 * campaign back to its previous status. After it, recovery is forward: render failures above the threshold pause.
 */
import { describe, expect, it } from 'vitest';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { segmentDecider } from '../../../src/domain/segments/decide.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { findCampaign, statsOfCampaigns } from '../../../src/projections/campaigns/queries.js';
import type { LaunchSagaWorker } from '../../../src/sagas/launch/handler.js';
import {
  campaign,
  contactCommand,
  createCampaign,
  createContacts,
  createTemplate,
  defineSegment,
  emailsOf,
  launch,
  SINGLE_WORKER_SETTINGS,
  useLaunchWorld,
  waitFor,
  waitForLaunch,
  type LaunchWorld,
} from './support.js';

// At the top level, so that the world's afterAll hooks register (vitest ignores hooks registered inside hooks).
const world: LaunchWorld = await useLaunchWorld('launch_compensate');
const worker: LaunchSagaWorker = world.startWorker();

const now = () => new Date().toISOString();
const ledgerCount = async (campaignId: string) => (await world.env.db.selectFrom('delivery_ledger').select('idempotency_key').where('campaign_id', '=', campaignId).execute()).length;

async function readyCampaign(tag: string, emails: readonly string[], html = '<p>Hi</p>') {
  await createContacts(world, emails.map((email) => ({ email, tags: [tag] })));
  const segmentId = await defineSegment(world, { tag });
  const templateId = await createTemplate(world, { subject: 'Hi', html });
  return { segmentId, campaignId: await createCampaign(world, { segmentId, templateId }) };
}

async function expectCompensated(campaignId: string, step: string, reason: RegExp, previous: 'draft' | 'scheduled') {
  const launched = await waitForLaunch(world, campaignId, ['compensated']);
  expect(launched.state).toMatchObject({ status: 'compensated', step });
  expect((launched.state as { reason: string }).reason).toMatch(reason);
  expect(launched.events.map((e) => e.type)).not.toContain('DeliveryStarted');
  // LaunchCompensated records the decision; releasing the audience and reverting the campaign follow (and are
  // retried on every recovery pass until done).
  await waitFor(async () => (await ledgerCount(campaignId)) === 0, 'the audience released');
  await waitFor(async () => (await findCampaign(world.env.db, world.workspaceId, campaignId))?.status === previous, `the campaign back to ${previous}`);
  await world.caughtUp();
  const row = await findCampaign(world.env.db, world.workspaceId, campaignId);
  expect(row).toMatchObject({ status: previous, launched_at: null });
  expect(row?.end_reason).toMatch(reason);
  return row!;
}

describe('launch saga: compensation before the first email', () => {
  it('a provider outage at preflight compensates to the previous status (scheduled); a relaunch once it is back sends', async () => {
    const emails = emailsOf(5, 'outage');
    const { campaignId } = await readyCampaign('outage', emails);
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    await campaign(world, campaignId, { type: 'ScheduleCampaign', data: { at: sendAt, timeZone: 'Europe/Berlin', now: now() } });
    await world.sink.down();
    try {
      await launch(world, campaignId);
      const row = await expectCompensated(campaignId, 'preflight', /^SMTP provider unavailable/, 'scheduled');
      expect(row.scheduled_at?.toISOString()).toBe(sendAt);
      expect(row.time_zone).toBe('Europe/Berlin');
    } finally {
      await world.sink.up();
    }
    for (const email of emails) expect(world.sink.countFor(email)).toBe(0);

    // Launched again by hand: a new attempt in the same launch stream, delivered this time.
    await launch(world, campaignId);
    const done = await waitForLaunch(world, campaignId, ['completed']);
    expect(done.events.map((e) => e.type)).toEqual(['LaunchStarted', 'LaunchCompensated', 'LaunchStarted', 'AudienceFrozen', 'DeliveryStarted', 'LaunchCompleted']);
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
  });

  it('an empty audience compensates (everyone excluded) and releases nothing but what it froze', async () => {
    const emails = emailsOf(2, 'empty');
    const { campaignId } = await readyCampaign('empty', emails);
    const ids = emails.map((email) => contactIdFor(world.workspaceId, email));
    for (const id of ids) await contactCommand(world, id, { type: 'UnsubscribeContact', data: { topic: 'news', source: 'api', reason: null, at: now() } });
    await launch(world, campaignId);
    await expectCompensated(campaignId, 'audience', /audience of segment seg-\w+ is empty \(excluded: 2 unsubscribed\)/, 'draft');
  });

  it('a segment deleted after the campaign was set up compensates', async () => {
    const { campaignId, segmentId } = await readyCampaign('deleted', emailsOf(2, 'deleted'));
    await handleCommand(world.env.eventStore, segmentDecider, `segment-${segmentId}`, { type: 'DeleteSegment', data: { referencedBy: [], at: now() } }, world.context());
    await launch(world, campaignId);
    await expectCompensated(campaignId, 'preflight', new RegExp(`segment ${segmentId} is deleted`), 'draft');
  });
});

describe('launch saga: render failures after the first email', () => {
  it('pauses the launch and the campaign above 10 % failures of at least 50 attempts', async () => {
    const tag = 'render';
    const emails = emailsOf(60, tag);
    // Rendering allocates a range of contact.loops: 10^8 exceeds the template engine's memory limit.
    const byId = emails.map((email) => ({ email, id: contactIdFor(world.workspaceId, email) })).sort((a, b) => (a.id < b.id ? -1 : 1));
    const bad = new Set(byId.filter((_, i) => i % 4 === 3).map((c) => c.email));
    await createContacts(world, byId.map(({ email }) => ({ email, tags: [tag], attributes: { loops: { type: 'number', value: bad.has(email) ? 100_000_000 : 1 } } })));
    const segmentId = await defineSegment(world, { tag });
    const templateId = await createTemplate(world, { subject: 'Hi', html: '<p>Hi{% for i in (1..contact.loops) %}!{% endfor %}</p>' });
    const campaignId = await createCampaign(world, { segmentId, templateId });
    await launch(world, campaignId);

    const paused = await waitForLaunch(world, campaignId, ['paused']);
    expect(paused.state).toMatchObject({ status: 'paused', pause: { by: 'render_failures' } });
    expect((paused.state as { pause: { reason: string } }).pause.reason).toMatch(/^\d+ of \d+ recipients could not be rendered$/);
    for (const email of bad) expect(world.sink.countFor(email)).toBe(0);
    const rows = await world.env.db.selectFrom('delivery_ledger').selectAll().where('campaign_id', '=', campaignId).execute();
    expect(rows.filter((r) => r.failure_kind === 'render').every((r) => bad.has(r.email))).toBe(true);
    expect(rows.filter((r) => r.status === 'pending').length).toBeGreaterThan(0);

    // The saga pauses the campaign right after its launch (a second step): wait for it, then for the read model.
    await waitFor(async () => (await findCampaign(world.env.db, world.workspaceId, campaignId))?.status === 'paused', 'the campaign to be paused');
    await world.caughtUp();
    const stats = await statsOfCampaigns(world.env.db, world.workspaceId, [campaignId]);
    expect(stats[0]?.failed).toBe(rows.filter((r) => r.failure_kind === 'render').length);
  });
});

describe('launch saga: provider outage after the first email', () => {
  it('the open circuit pauses the launch and the campaign; resumed once the provider is back, everyone gets one email', async () => {
    await worker.stop();
    const circuitWorker = world.startWorker({ smtp: { ratePerSecond: 20, circuit: { failureThreshold: 3, coolDownMs: 300 } }, settings: { ...SINGLE_WORKER_SETTINGS, batchSize: 5 } });
    try {
      const emails = emailsOf(40, 'circuit');
      const { campaignId } = await readyCampaign('circuit', emails);
      const sent = () => world.sink.accepted.filter((m) => emails.includes(m.to[0]!)).length;
      await launch(world, campaignId);
      await waitFor(() => sent() >= 5, 'the first sends');
      await world.sink.down();
      try {
        const paused = await waitForLaunch(world, campaignId, ['paused']);
        expect(paused.state).toMatchObject({ pause: { by: 'circuit' } });
        expect(paused.events.map((e) => e.type)).toContain('DeliveryStarted');
        // The saga pauses the campaign right after its launch (a second step), then the read model follows.
        await waitFor(async () => (await findCampaign(world.env.db, world.workspaceId, campaignId))?.status === 'paused', 'the campaign to be paused');
      } finally {
        await world.sink.up();
      }
      await campaign(world, campaignId, { type: 'ResumeCampaign', data: { at: now() } });
      await waitForLaunch(world, campaignId, ['completed'], 20_000);
      for (const email of emails) expect(world.sink.countFor(email), email).toBe(1);
    } finally {
      await circuitWorker.stop();
    }
  }, 45_000);
});

describe('launch saga: no SMTP provider', () => {
  it('without SMTP_URL launches compensate at preflight with "no SMTP provider configured"', async () => {
    world.startWorker({ sender: null });
    const { campaignId } = await readyCampaign('nosmtp', emailsOf(2, 'nosmtp'));
    await launch(world, campaignId);
    await expectCompensated(campaignId, 'preflight', /^no SMTP provider configured$/, 'draft');
  });
});
