/**
 * Crashes and races in the A/B winner round: a worker SIGKILLed while it sends the holdout the winner, a winner
 * chosen while the sample is still being sent, and a worker that died between WinnerRoundStarted and moving the
 * held rows to the winner. Every contact gets exactly one email, the holdout the winner's.
 */
import { describe, expect, it } from 'vitest';
import { holdoutOf } from '../../../src/sagas/launch/workflow.js';
import { loadLaunch, runLaunchCommand, sagaContext } from '../../../src/sagas/launch/streams.js';
import { winnerRoundCommandId } from '../../../src/sagas/launch/testPhase.js';
import { onAccepted, startChild } from './childWorker.js';
import { campaign, createCampaign, createContacts, createTemplate, defineSegment, emailsOf, launch, SINGLE_WORKER_SETTINGS, useLaunchWorld, waitFor, waitForLaunch, type LaunchWorld } from './support.js';

const world: LaunchWorld = await useLaunchWorld('launch_abcrash');

const subjectOf = (headers: string) => (/^Subject: (.*)$/m.exec(headers)?.[1] ?? '').trim();

/** Variants A and B (50/50), a 20 % sample, the winner picked by hand. */
async function abCampaign(tag: string, size: number) {
  const emails = emailsOf(size, tag);
  await createContacts(world, emails.map((email) => ({ email, tags: [tag] })));
  const segmentId = await defineSegment(world, { tag });
  const templateA = await createTemplate(world, { subject: 'Variant A', html: '<p>A</p>' });
  const templateB = await createTemplate(world, { subject: 'Variant B', html: '<p>B</p>' });
  const campaignId = await createCampaign(world, { segmentId, templateId: templateA });
  const variants = [
    { key: 'A', templateId: templateA, templateVersion: 1, subject: null, splitPercent: 50 },
    { key: 'B', templateId: templateB, templateVersion: 1, subject: null, splitPercent: 50 },
  ];
  await campaign(world, campaignId, { type: 'DefineCampaignVariants', data: { variants, testSamplePercent: 20, winnerMetric: 'click_rate', winnerAfterHours: null, at: new Date().toISOString() } });
  const mailed = () => world.sink.accepted.filter((m) => emails.includes(m.to[0]!));
  return { campaignId, emails, mailed };
}

const chooseByHand = (campaignId: string, variantKey: string) =>
  campaign(world, campaignId, { type: 'ChooseCampaignWinner', data: { variantKey, by: 'manual', values: {}, at: new Date().toISOString() } });

describe('launch saga: crashes in the A/B winner round', () => {
  it('SIGKILL while the holdout is sent the winner, then a restarted worker: exactly one email per contact', async () => {
    const { campaignId, emails, mailed } = await abCampaign('abkill', 40);
    const { child, stderr } = await startChild(world, { rate: 25, batch: 4 });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    await launch(world, campaignId);
    await waitForLaunch(world, campaignId, ['testing'], 30_000);
    expect(mailed()).toHaveLength(8);

    // Killed in the very tick the sink accepts the 6th holdout email, before the child hears the 250.
    const unhook = onAccepted(world, () => mailed().length >= 8 + 6 && child.kill('SIGKILL'));
    await chooseByHand(campaignId, 'B');
    await waitFor(() => mailed().length >= 8 + 6, 'the child to send some of the holdout');
    expect(await exited, stderr()).toBe('SIGKILL');
    unhook();
    expect(mailed().length).toBeLessThan(40);
    expect((await loadLaunch(world.env.eventStore, campaignId)).state).toMatchObject({ status: 'delivering', round: 2, winner: 'B' });

    const worker = world.startWorker({ settings: SINGLE_WORKER_SETTINGS });
    try {
      const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
      expect(done.state).toMatchObject({ round: 2, counts: { audience: 40, sent: 40, failed: 0, unknown: 0 } });
    } finally {
      await worker.stop();
    }
    for (const email of emails) expect(world.sink.countFor(email), email).toBe(1);
    expect(mailed().filter((m) => subjectOf(m.headers) === 'Variant B')).toHaveLength(4 + 32);
  }, 60_000);

  it('a winner chosen by hand while the sample is still being sent: the holdout waits for the sample, then gets it', async () => {
    const { campaignId, emails, mailed } = await abCampaign('abearly', 20);
    const slow = world.startWorker({ smtp: { ratePerSecond: 3 } });
    try {
      await launch(world, campaignId);
      await waitFor(() => mailed().length >= 1, 'the first sample email');
      await chooseByHand(campaignId, 'B');
      expect((await loadLaunch(world.env.eventStore, campaignId)).state).toMatchObject({ status: 'delivering', round: 1, winner: null });
      const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
      expect(done.events.map((e) => e.type)).toEqual(['LaunchStarted', 'AudienceFrozen', 'DeliveryStarted', 'TestSampleSent', 'WinnerRoundStarted', 'LaunchCompleted']);
      expect(done.state).toMatchObject({ round: 2, counts: { audience: 20, sent: 20 } });
    } finally {
      await slow.stop();
    }
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
    expect(mailed().filter((m) => subjectOf(m.headers) === 'Variant B')).toHaveLength(2 + 16);
  }, 60_000);

  it('a worker that died between WinnerRoundStarted and moving the holdout: the next one moves it and sends it once', async () => {
    const { campaignId, emails, mailed } = await abCampaign('abmove', 10);
    const first = world.startWorker();
    await launch(world, campaignId);
    const testing = await waitForLaunch(world, campaignId, ['testing']);
    await first.stop();
    expect(holdoutOf('audience' in testing.state ? testing.state.audience : null)).toBe(8);

    // What the dead worker left: the campaign's winner, and the launch's WinnerRoundStarted, but the rows still held.
    await chooseByHand(campaignId, 'A');
    const plan = testing.state.status === 'none' ? null : testing.state.plan;
    const step = sagaContext(world.workspaceId, winnerRoundCommandId(campaignId, plan!.campaignRevision), testing.correlationId);
    await runLaunchCommand(world.env.eventStore, campaignId, { type: 'StartWinnerRound', data: { variantKey: 'A', by: 'manual', at: new Date().toISOString() } }, step);
    const held = await world.env.db.selectFrom('delivery_ledger').select('status').where('campaign_id', '=', campaignId).where('status', '=', 'held').execute();
    expect(held).toHaveLength(8);

    // Two workers take over at once.
    const a = world.startWorker();
    const b = world.startWorker();
    try {
      const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
      expect(done.state).toMatchObject({ round: 2, counts: { audience: 10, sent: 10 } });
      expect(done.events.filter((e) => e.type === 'WinnerRoundStarted')).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
    }
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
    expect(mailed().filter((m) => subjectOf(m.headers) === 'Variant A')).toHaveLength(1 + 8);
  }, 60_000);
});
