/**
 * The A/B test phase end to end on the real pipeline, a real SMTP sink and the real tracking route: only the
 * sample is mailed; the holdout gets nothing before a winner exists; the winner is chosen automatically once the
 * (injected) clock passes decideAt, from opens recorded through GET /t/o/<token>, or by hand; then the holdout
 * receives the winner and every contact has exactly one email. Cancel during the test phase releases the holdout.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { campaignsSlice } from '../../../src/api/graphql/campaigns.js';
import { launchesSlice } from '../../../src/api/graphql/launches.js';
import { buildServer } from '../../../src/api/server.js';
import { campaignStreamId } from '../../../src/domain/campaigns/events.js';
import { WinnerPickedByHandError } from '../../../src/domain/campaigns/winner.js';
import { HOLDOUT_VARIANT_KEY } from '../../../src/domain/launches/events.js';
import { audienceHash } from '../../../src/domain/launches/audience.js';
import { statsOfCampaigns } from '../../../src/projections/campaigns/queries.js';
import { trackingLinks } from '../../../src/sagas/delivery/trackingTokens.js';
import { assignHoldout } from '../../../src/sagas/launch/launchLedger.js';
import { loadLaunch, runCampaignCommand, runLaunchCommand, sagaContext } from '../../../src/sagas/launch/streams.js';
import { autoWinnerCommandId, winnerRoundCommandId } from '../../../src/sagas/launch/testPhase.js';
import { gql } from '../../api/support.js';
import { campaign, createCampaign, createContacts, createTemplate, defineSegment, emailsOf, ensureSlices, launch, SECRET, useLaunchWorld, waitFor, waitForLaunch, type LaunchWorld } from './support.js';

const world: LaunchWorld = await useLaunchWorld('launch_abtest');
// The saga's clock: moved past decideAt by the tests (the SMTP sink, the database and the tracking route keep real time).
let shiftMs = 0;
const clock = () => new Date(Date.now() + shiftMs);
const HOUR = 3_600_000;
// Two workers: the timer and the winner round must happen once across instances.
world.startWorker({ now: clock });
world.startWorker({ now: clock });
await ensureSlices(campaignsSlice, launchesSlice);
const app: FastifyInstance = await buildServer({ ...world.env.deps, config: { ...world.env.deps.config, trackingSecret: SECRET } });
afterAll(async () => {
  await app.close();
});

const subjectOf = (raw: string) => (/^Subject: (.*)$/m.exec(raw)?.[1] ?? '').trim();
const ledgerRows = (campaignId: string) => world.env.db.selectFrom('delivery_ledger').selectAll().where('campaign_id', '=', campaignId).execute();
const campaignEvents = async (campaignId: string) => {
  const read = await world.env.eventStore.readStream(campaignStreamId(campaignId));
  return read.status === 'found' ? read.events : [];
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A campaign with variants A and B (50/50), a 20 % test sample and the given winnerAfterHours, ready to launch. */
async function abCampaign(tag: string, size: number, winnerAfterHours: number | null) {
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
  await campaign(world, campaignId, { type: 'DefineCampaignVariants', data: { variants, testSamplePercent: 20, winnerMetric: 'open_rate', winnerAfterHours, at: new Date().toISOString() } });
  const mailed = () => world.sink.accepted.filter((m) => emails.includes(m.to[0]!));
  return { campaignId, emails, mailed };
}

const INPUT_TYPES: Record<string, string> = {
  chooseCampaignWinner: 'ChooseCampaignWinnerInput',
  pauseCampaign: 'CampaignActionWithReasonInput',
  resumeCampaign: 'CampaignActionInput',
  cancelCampaign: 'CampaignActionWithReasonInput',
};
const mutate = (name: string, input: Record<string, unknown>) =>
  gql(app, world.keys.marketer.key, `mutation($input: ${INPUT_TYPES[name]}!) { ${name}(input: $input) { campaignId } }`, { input });
const launchQuery = (campaignId: string) =>
  gql(app, world.keys.auditor.key, `query($id: ID!) { launch(campaignId: $id) { status round counts { held pending sent } finalCounts { audience sent cancelled }
    testPhase { samplePercent sampleSize holdoutSize decideAt sampleSentAt winnerRoundStartedAt winner { variantKey by metric values { key value } } } } }`, { id: campaignId });

describe('launch saga: the A/B test phase', () => {
  it('sends the sample only, chooses B automatically after decideAt from real opens, then sends the holdout B: one email each', async () => {
    const { campaignId, emails, mailed } = await abCampaign('abauto', 20, 1);
    await launch(world, campaignId);
    const testing = await waitForLaunch(world, campaignId, ['testing']);

    // The frozen audience: a sample of 4 split 2/2, a holdout of 16 held in the ledger; the hash covers both.
    const frozen = testing.events.find((e) => e.type === 'AudienceFrozen')!.data as Record<string, unknown>;
    expect(frozen).toMatchObject({ audienceSize: 20, sampleSize: 4, holdoutSize: 16, variantSizes: { A: 2, B: 2 } });
    const rows = await ledgerRows(campaignId);
    expect(frozen.hash).toBe(audienceHash(rows.map((r) => ({ contactId: r.contact_id, variantKey: r.variant_key }))));
    expect(rows.filter((r) => r.status === 'held').every((r) => r.variant_key === HOLDOUT_VARIANT_KEY)).toBe(true);
    expect(rows.filter((r) => r.status === 'held')).toHaveLength(16);
    const sample = rows.filter((r) => r.status === 'sent');
    expect(sample).toHaveLength(4);
    const { decideAt, at: sampleSentAt } = testing.events.find((e) => e.type === 'TestSampleSent')!.data as { decideAt: string; at: string };
    expect(Date.parse(decideAt) - Date.parse(sampleSentAt)).toBe(HOUR);

    // Nothing to the holdout before the winner, however many polls pass.
    await pause(800);
    expect((await loadLaunch(world.env.eventStore, campaignId)).state.status).toBe('testing');
    expect(mailed()).toHaveLength(4);
    let view = await launchQuery(campaignId);
    expect(view.body.errors).toBeUndefined();
    expect(view.body.data!.launch).toMatchObject({ status: 'TESTING', round: 1, counts: { held: 16, pending: 0, sent: 4 }, testPhase: { samplePercent: 20, sampleSize: 4, holdoutSize: 16, decideAt: new Date(decideAt).toISOString(), winner: null } });

    // B's sample opens (one of them twice: unique opens count it once), through the public tracking route.
    for (const [i, row] of sample.filter((r) => r.variant_key === 'B').entries()) {
      const pixel = new URL(trackingLinks(SECRET, 'https://t.example.com', { workspaceId: row.workspace_id, campaignId, variantKey: 'B', contactId: row.contact_id }).openPixel).pathname;
      for (let n = 0; n <= i; n++) expect((await app.inject({ method: 'GET', url: pixel })).statusCode).toBe(200);
    }

    shiftMs += 2 * HOUR;
    const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
    expect(done.events.map((e) => e.type)).toEqual(['LaunchStarted', 'AudienceFrozen', 'DeliveryStarted', 'TestSampleSent', 'WinnerRoundStarted', 'LaunchCompleted']);
    expect(done.state).toMatchObject({ round: 2, counts: { audience: 20, sent: 20, failed: 0, unknown: 0, cancelled: 0 } });
    const chosen = (await campaignEvents(campaignId)).filter((e) => e.type === 'CampaignWinnerChosen');
    expect(chosen.map((e) => e.data)).toEqual([expect.objectContaining({ variantKey: 'B', by: 'auto', metric: 'open_rate', values: { A: 0, B: 1 } })]);
    for (const email of emails) expect(world.sink.countFor(email), email).toBe(1);
    const holdout = new Set(rows.filter((r) => r.status === 'held').map((r) => r.email));
    expect(mailed().filter((m) => holdout.has(m.to[0]!)).map((m) => subjectOf(m.headers))).toEqual(Array(16).fill('Variant B'));

    // The winner round's sends count under B; A keeps its sample.
    await world.caughtUp();
    const stats = Object.fromEntries((await statsOfCampaigns(world.env.db, world.workspaceId, [campaignId])).map((s) => [s.variant_key, s]));
    expect(stats['']).toMatchObject({ audience_size: 20, sent: 20, unique_opens: 2, opened: 3 });
    expect(stats.A).toMatchObject({ audience_size: 2, sent: 2, unique_opens: 0 });
    expect(stats.B).toMatchObject({ audience_size: 18, sent: 18, unique_opens: 2 });
    view = await launchQuery(campaignId);
    expect(view.body.data!.launch).toMatchObject({ status: 'COMPLETED', round: 2, counts: { held: 0, sent: 20 }, testPhase: { winner: { variantKey: 'B', by: 'auto', metric: 'OPEN_RATE', values: [{ key: 'A', value: 0 }, { key: 'B', value: 1 }] } } });
    expect(view.body.data!.launch.testPhase.winnerRoundStartedAt).not.toBeNull();

    // The winner step and the winner round again (a retry after a crash): the same command ids decide nothing new.
    const { workspaceId, correlationId } = { workspaceId: world.workspaceId, correlationId: done.correlationId };
    const again = await runCampaignCommand(world.env.eventStore, campaignId, { type: 'ChooseCampaignWinner', data: { variantKey: 'A', by: 'auto', values: {}, at: clock().toISOString() } }, sagaContext(workspaceId, autoWinnerCommandId(campaignId, done.state.status === 'none' ? 0 : done.state.plan.campaignRevision), correlationId));
    expect(again.duplicate).toBe(true);
    const revision = done.state.status === 'none' ? 0 : done.state.plan.campaignRevision;
    const round = await runLaunchCommand(world.env.eventStore, campaignId, { type: 'StartWinnerRound', data: { variantKey: 'B', by: 'auto', at: clock().toISOString() } }, sagaContext(workspaceId, winnerRoundCommandId(campaignId, revision), correlationId));
    expect(round.duplicate).toBe(true);
    expect(await assignHoldout(world.env.db, campaignId, 'A', 'mail.example.com')).toBe(0);
    await pause(500);
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
  }, 60_000);

  it('by hand: no automatic choice however late; bad choices are named errors that write nothing; paused, the winner waits for the resume', async () => {
    const { campaignId, emails, mailed } = await abCampaign('abhand', 10, null);
    await launch(world, campaignId);
    await waitForLaunch(world, campaignId, ['testing']);
    shiftMs += 48 * HOUR;
    await pause(600);
    expect((await loadLaunch(world.env.eventStore, campaignId)).state).toMatchObject({ status: 'testing', test: { decideAt: null } });
    expect(mailed()).toHaveLength(2);

    const revision = async () => (await campaignEvents(campaignId)).length;
    const before = await revision();
    const bad = await mutate('chooseCampaignWinner', { campaignId, variantKey: 'Z' });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.variantKey' });
    const auto = runCampaignCommand(world.env.eventStore, campaignId, { type: 'ChooseCampaignWinner', data: { variantKey: 'A', by: 'auto', values: {}, at: clock().toISOString() } }, world.context());
    await expect(auto).rejects.toBeInstanceOf(WinnerPickedByHandError);
    expect(await revision()).toBe(before);

    expect((await mutate('pauseCampaign', { campaignId })).body.errors).toBeUndefined();
    await waitForLaunch(world, campaignId, ['paused']);
    expect((await mutate('chooseCampaignWinner', { campaignId, variantKey: 'A' })).body.errors).toBeUndefined();
    const afterChoice = await revision();
    const twice = await mutate('chooseCampaignWinner', { campaignId, variantKey: 'B' });
    expect(twice.body.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_TRANSITION' }, message: expect.stringMatching(/variant A was chosen by hand/) });
    expect(await revision()).toBe(afterChoice);
    await pause(600);
    expect((await loadLaunch(world.env.eventStore, campaignId)).state).toMatchObject({ status: 'paused', resumeTo: 'testing' });
    expect(mailed()).toHaveLength(2);

    expect((await mutate('resumeCampaign', { campaignId })).body.errors).toBeUndefined();
    const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
    expect(done.state).toMatchObject({ round: 2, counts: { audience: 10, sent: 10 } });
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
    expect(mailed().filter((m) => subjectOf(m.headers) === 'Variant A')).toHaveLength(1 + 8);
    const winner = (await campaignEvents(campaignId)).filter((e) => e.type === 'CampaignWinnerChosen').map((e) => (e.data as { by: string }).by);
    expect(winner).toEqual(['manual']);
  }, 60_000);

  it('a campaign without a test phase has no winner to choose (NoTestPhase, nothing written)', async () => {
    const emails = emailsOf(3, 'nophase');
    await createContacts(world, emails.map((email) => ({ email, tags: ['nophase'] })));
    const segmentId = await defineSegment(world, { tag: 'nophase' });
    const templateId = await createTemplate(world, { subject: 'Plain', html: '<p>Plain</p>' });
    const campaignId = await createCampaign(world, { segmentId, templateId, variants: [{ key: 'A', templateId, splitPercent: 50 }, { key: 'B', templateId, splitPercent: 50 }] });
    await launch(world, campaignId);
    // Paused at once, before the saga can get far: the campaign is paused (a state that allows a choice).
    await campaign(world, campaignId, { type: 'PauseCampaign', data: { at: new Date().toISOString(), reason: null } });
    const before = (await campaignEvents(campaignId)).length;
    const refused = await mutate('chooseCampaignWinner', { campaignId, variantKey: 'A' });
    expect(refused.body.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_TRANSITION' }, message: expect.stringMatching(/without an A\/B test phase/) });
    expect((await campaignEvents(campaignId)).length).toBe(before);
    await campaign(world, campaignId, { type: 'CancelCampaign', data: { at: new Date().toISOString(), reason: 'test over' } });
    await waitForLaunch(world, campaignId, ['cancelled', 'compensated']);
  });

  it('cancel during the test phase releases the holdout: nothing more is sent, the counts say so', async () => {
    const { campaignId, emails, mailed } = await abCampaign('abcancel', 10, 1);
    await launch(world, campaignId);
    await waitForLaunch(world, campaignId, ['testing']);
    expect((await mutate('cancelCampaign', { campaignId, reason: 'changed our mind' })).body.errors).toBeUndefined();
    const cancelled = await waitForLaunch(world, campaignId, ['cancelled']);
    expect(cancelled.state).toMatchObject({ round: 1, counts: { audience: 10, sent: 2, cancelled: 8 } });
    expect((await ledgerRows(campaignId)).map((r) => r.status)).toEqual(['sent', 'sent']);
    shiftMs += 2 * HOUR;
    await pause(600);
    expect(mailed()).toHaveLength(2);
    expect(emails.filter((e) => world.sink.countFor(e) === 0)).toHaveLength(8);
    expect((await campaignEvents(campaignId)).some((e) => e.type === 'CampaignWinnerChosen')).toBe(false);
    expect((await loadLaunch(world.env.eventStore, campaignId)).state.status).toBe('cancelled');
    await waitFor(async () => (await launchQuery(campaignId)).body.data?.launch?.status === 'CANCELLED', 'the launch query to say CANCELLED');
  });
});
