/**
 * The launch saga end to end on the real pipeline and a real SMTP sink: every eligible recipient gets exactly one
 * email, the excluded ones none; an A/B test is split as configured, the same way on every run; temporary SMTP
 * errors are retried and permanent ones recorded, then resent to on request.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { launchesSlice } from '../../../src/api/graphql/launches.js';
import { buildServer } from '../../../src/api/server.js';
import { audienceHash, variantAt } from '../../../src/domain/launches/audience.js';
import { emailStreamId } from '../../../src/domain/deliveries/events.js';
import { findCampaign, statsOfCampaigns } from '../../../src/projections/campaigns/queries.js';
import { freezeAudience } from '../../../src/sagas/launch/audience.js';
import { loadLaunch } from '../../../src/sagas/launch/streams.js';
import { headerValue } from '../../support/smtpSink.js';
import { gql } from '../../api/support.js';
import {
  contactCommand,
  createCampaign,
  createContacts,
  createTemplate,
  defineSegment,
  emailsOf,
  ensureSlices,
  launch,
  SENDER,
  useLaunchWorld,
  waitFor,
  waitForLaunch,
  type LaunchWorld,
} from './support.js';

// At the top level, so that the world's afterAll hooks register (vitest ignores hooks registered inside hooks).
const world: LaunchWorld = await useLaunchWorld('launch_happy');
world.startWorker();
await ensureSlices(launchesSlice);
const app: FastifyInstance = await buildServer(world.env.deps);
afterAll(async () => {
  await app.close();
});

const ledgerRows = (campaignId: string) =>
  world.env.db.selectFrom('delivery_ledger').selectAll().where('campaign_id', '=', campaignId).orderBy('contact_id').execute();

async function completedCampaign(campaignId: string) {
  // The saga completes the campaign after its launch completed: wait for that event to be read, then for the rest.
  await waitFor(async () => (await findCampaign(world.env.db, world.workspaceId, campaignId))?.status === 'completed', 'the campaign read model to show completed');
  await world.caughtUp();
  const row = await findCampaign(world.env.db, world.workspaceId, campaignId);
  const stats = await statsOfCampaigns(world.env.db, world.workspaceId, [campaignId]);
  return { row, stats: Object.fromEntries(stats.map((s) => [s.variant_key, s])) };
}

describe('launch saga: happy path', () => {
  it('sends exactly one email to every eligible member, none to the excluded, and the stats count them', async () => {
    const tag = 'happy';
    const eligible = emailsOf(12, 'ok');
    const ids = await createContacts(world, eligible.map((email, i) => ({ email, tags: [tag], attributes: { first_name: { type: 'string', value: `Name${i}` } } })));
    const [unsubscribed, suppressed, otherTopic, notMember] = await createContacts(world, [
      { email: 'unsub-happy@example.org', tags: [tag] },
      { email: 'suppressed-happy@example.org', tags: [tag] },
      { email: 'promo-happy@example.org', tags: [tag], topics: ['promo'] },
      { email: 'outsider-happy@example.org', tags: ['other'] },
    ]);
    await contactCommand(world, unsubscribed!, { type: 'UnsubscribeContact', data: { topic: 'news', source: 'api', reason: null, at: new Date().toISOString() } });
    await contactCommand(world, suppressed!, { type: 'SuppressContact', data: { reason: 'manual', detail: null, at: new Date().toISOString() } });
    const segmentId = await defineSegment(world, { tag });
    const templateId = await createTemplate(world, {
      subject: 'Hello {{ contact.first_name }}',
      html: '<p>Hi {{ contact.first_name }}, see <a href="https://shop.example.com/sale?a=1&b=2">the sale</a>.</p><a href="{{ unsubscribe_url }}">unsubscribe</a>',
    });
    const campaignId = await createCampaign(world, { segmentId, templateId });
    await launch(world, campaignId);

    const done = await waitForLaunch(world, campaignId, ['completed']);
    expect(done.state).toMatchObject({ status: 'completed', round: 1, counts: { audience: 12, sent: 12, failed: 0, renderFailed: 0, unknown: 0, cancelled: 0 } });
    for (const email of eligible) expect(world.sink.countFor(email), email).toBe(1);
    for (const email of ['unsub-happy@example.org', 'suppressed-happy@example.org', 'promo-happy@example.org', 'outsider-happy@example.org']) expect(world.sink.countFor(email)).toBe(0);
    expect(notMember).toBeDefined();

    // What was sent: the contact's values, the sender, a signed unsubscribe header, tracked links and an open pixel.
    const message = world.sink.accepted.find((m) => m.to.includes(eligible[3]!))!;
    expect(message.raw).toContain('Hello Name3');
    expect(message.from).toBe(SENDER.email);
    expect(headerValue(message.headers, 'List-Unsubscribe')).toMatch(/^<https:\/\/t\.example\.com\/t\/u\/[\w-]+\.[\w-]+>, <mailto:/);
    expect(message.raw).toMatch(/https:\/\/t\.example\.com\/t\/c\//);
    expect(message.raw).toMatch(/https:\/\/t\.example\.com\/t\/o\//);
    expect(message.messageId).toBe(`${campaignId}.main.${ids[3]}@mail.example.com`);

    // The launch stream: frozen audience with its exclusions and fingerprint, DeliveryStarted before any send.
    const types = done.events.map((e) => e.type);
    expect(types).toEqual(['LaunchStarted', 'AudienceFrozen', 'DeliveryStarted', 'LaunchCompleted']);
    const frozen = done.events[1]!.data as { audienceSize: number; hash: string; excluded: unknown; variantSizes: unknown };
    expect(frozen).toMatchObject({ audienceSize: 12, variantSizes: null, excluded: { unsubscribed: 2, suppressed: 1, merged: 0, duplicateEmail: 0 } });
    const rows = await ledgerRows(campaignId);
    expect(frozen.hash).toBe(audienceHash(rows.map((r) => ({ contactId: r.contact_id, variantKey: r.variant_key }))));
    expect(done.events[2]!.recordedAt.getTime()).toBeLessThanOrEqual(Math.min(...rows.map((r) => r.sending_at!.getTime())));

    // The campaign completed; its stats count the audience and the sends (from AudienceFrozen and EmailSent).
    const { row, stats } = await completedCampaign(campaignId);
    expect(row?.status).toBe('completed');
    expect(stats['']).toMatchObject({ audience_size: 12, sent: 12, failed: 0 });
    const sentEvent = await world.env.eventStore.readStream(emailStreamId(campaignId, ids[0]!));
    expect(sentEvent.status === 'found' && sentEvent.events.map((e) => e.type)).toEqual(['EmailSent']);

    // The launch query: status, ledger counts, audience size and hash.
    const response = await gql(app, world.keys.auditor.key, `query($id: ID!) { launch(campaignId: $id) { status round audienceSize audienceHash excluded { unsubscribed suppressed } counts { sent pending } finalCounts { sent } } }`, { id: campaignId });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.launch).toEqual({ status: 'COMPLETED', round: 1, audienceSize: 12, audienceHash: frozen.hash, excluded: { unsubscribed: 2, suppressed: 1 }, counts: { sent: 12, pending: 0 }, finalCounts: { sent: 12 } });
  });

  it('splits an A/B test as configured, deterministically (a function of campaign and audience)', async () => {
    const tag = 'abtest';
    const emails = emailsOf(41, 'ab');
    const ids = await createContacts(world, emails.map((email) => ({ email, tags: [tag] })));
    const segmentId = await defineSegment(world, { tag });
    const templateA = await createTemplate(world, { subject: 'Variant A', html: '<p>A</p>' });
    const templateB = await createTemplate(world, { subject: 'Variant B', html: '<p>B</p>' });
    const variants = [
      { key: 'A', templateId: templateA, splitPercent: 30 },
      { key: 'B', templateId: templateB, splitPercent: 70, subject: 'Override for {{ contact.email }}' },
    ];
    const campaignId = await createCampaign(world, { segmentId, templateId: templateA, variants });
    await launch(world, campaignId);
    const done = await waitForLaunch(world, campaignId, ['completed']);

    const frozen = done.events.find((e) => e.type === 'AudienceFrozen')!.data as { variantSizes: Record<string, number>; hash: string };
    expect(frozen.variantSizes).toEqual({ A: 12, B: 29 }); // floor(41 · 0.3) = 12
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
    const subjects = world.sink.accepted.filter((m) => emails.includes(m.to[0]!)).map((m) => (/^Subject: (.*)$/m.exec(m.headers)?.[1] ?? '').trim());
    expect(subjects.filter((s) => s === 'Variant A')).toHaveLength(12);
    expect(subjects.filter((s) => s.startsWith('Override for'))).toHaveLength(29);

    // The assignment is the documented function: rank by md5(campaignId:contactId), contiguous slices.
    const ranked = [...ids].sort((a, b) => {
      const ha = createHash('md5').update(`${campaignId}:${a}`).digest('hex');
      const hb = createHash('md5').update(`${campaignId}:${b}`).digest('hex');
      return ha < hb ? -1 : ha > hb ? 1 : a < b ? -1 : 1;
    });
    const expected = new Map(ranked.map((id, rank) => [id, variantAt(rank, ranked.length, variants).key]));
    for (const row of await ledgerRows(campaignId)) expect(row.variant_key).toBe(expected.get(row.contact_id));

    // Freezing the same audience again (a scratch campaign id, twice) gives the same fingerprint each time.
    const scratch = '00000000-0000-4000-8000-0000000000ab';
    const request = { workspaceId: world.workspaceId, campaignId: scratch, segmentId, topic: 'news', senderEmail: SENDER.email, variants: variants.map((v) => ({ ...v, templateVersion: 1, subject: null })), timeoutMs: 10_000 };
    const first = await freezeAudience(world.env.db, request);
    const second = await freezeAudience(world.env.db, request);
    expect(second).toEqual(first);
    expect(first.variantSizes).toEqual({ A: 12, B: 29 });
    await sql`DELETE FROM delivery_ledger WHERE campaign_id = ${scratch}`.execute(world.env.db);

    const { stats } = await completedCampaign(campaignId);
    expect(stats.A).toMatchObject({ audience_size: 12, sent: 12 });
    expect(stats.B).toMatchObject({ audience_size: 29, sent: 29 });
  });

  it('retries temporary SMTP errors, records permanent ones, and resends to failed recipients on request', async () => {
    const tag = 'smtperr';
    const emails = emailsOf(6, 'err');
    await createContacts(world, emails.map((email) => ({ email, tags: [tag] })));
    const [temporary, permanent] = [emails[1]!, emails[4]!];
    world.sink.failRecipient(temporary, 451, 2);
    world.sink.failRecipient(permanent, 550);
    const segmentId = await defineSegment(world, { tag });
    const templateId = await createTemplate(world, { subject: 'Hi', html: '<p>Hi</p>' });
    const campaignId = await createCampaign(world, { segmentId, templateId });
    await launch(world, campaignId);
    const done = await waitForLaunch(world, campaignId, ['completed']);
    expect(done.state).toMatchObject({ counts: { audience: 6, sent: 5, failed: 1 } });
    expect(world.sink.countFor(temporary)).toBe(1);
    expect(world.sink.rcptAttempts.filter((r) => r === temporary)).toHaveLength(3);
    expect(world.sink.countFor(permanent)).toBe(0);
    const failedRow = (await ledgerRows(campaignId)).find((r) => r.email === permanent)!;
    expect(failedRow).toMatchObject({ status: 'failed', failure_kind: 'permanent', smtp_code: 550, recorded: true });
    let { row, stats } = await completedCampaign(campaignId);
    expect(row?.status).toBe('completed');
    expect(stats['']).toMatchObject({ sent: 5, failed: 1 });

    // The mailbox works again; resend to the failed: only that recipient gets a (first) email, in round 2.
    world.sink.failRecipient(permanent, 550, 0);
    const mutation = `mutation($input: ResendToFailedInput!) { resendToFailed(input: $input, commandId: "resend-1") { round count receipt { duplicate } } }`;
    const response = await gql(app, world.keys.marketer.key, mutation, { input: { campaignId } });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.resendToFailed).toEqual({ round: 2, count: 1, receipt: { duplicate: false } });
    await waitFor(async () => {
      const l = await loadLaunch(world.env.eventStore, campaignId);
      return l.state.status === 'completed' && l.state.round === 2;
    }, 'round 2 to complete');
    const again = await loadLaunch(world.env.eventStore, campaignId);
    expect(again.state).toMatchObject({ status: 'completed', round: 2, counts: { sent: 6, failed: 0 } });
    expect(world.sink.countFor(permanent)).toBe(1);
    for (const email of emails) expect(world.sink.countFor(email)).toBe(1);
    const repeat = await gql(app, world.keys.marketer.key, mutation, { input: { campaignId } });
    expect(repeat.body.data!.resendToFailed.receipt).toEqual({ duplicate: true });
    const stream = await world.env.eventStore.readStream(emailStreamId(campaignId, failedRow.contact_id));
    expect(stream.status === 'found' && stream.events.map((e) => e.type)).toEqual(['EmailFailed', 'EmailSent']);
    ({ row, stats } = await completedCampaign(campaignId));
    expect(stats['']).toMatchObject({ sent: 6, failed: 1 });

  });
});
