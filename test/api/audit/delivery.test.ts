/**
 * "What was sent" end to end: a real launch (pipeline, saga worker, SMTP sink), then delivery / emailsSent over
 * GraphQL re-render each email from the pinned versions and the contact's data as of the send, and prove the
 * recorded content hash — also after the contact changed. With another TRACKING_SECRET the proof fails, and says so.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { headerValue } from '../../support/smtpSink.js';
import { gql } from '../support.js';
import { contactCommand, createCampaign, createContacts, createTemplate, defineSegment, launch, SECRET, useLaunchWorld, waitForLaunch, type LaunchWorld } from '../../sagas/launch/support.js';

const world: LaunchWorld = await useLaunchWorld('audit_delivery');
world.startWorker();
const renderConfig = { ...world.env.config, trackingSecret: SECRET, publicBaseUrl: 'https://t.example.com' };
const app: FastifyInstance = await buildServer({ ...world.env.deps, config: renderConfig });
const wrongSecretApp: FastifyInstance = await buildServer({ ...world.env.deps, config: { ...renderConfig, trackingSecret: 'another-secret-of-at-least-32-characters' } });
afterAll(async () => {
  await app.close();
  await wrongSecretApp.close();
});

const DELIVERY = `query($campaignId: ID!, $contactId: ID!) { delivery(campaignId: $campaignId, contactId: $contactId) {
  campaignId contactId email outcome at variantKey messageId campaignRevision templateId templateVersion subject contentHash sentAt sentPosition
  events { type actor }
  campaignAtSend { status revision campaign { status name templateVersion } }
  contactAtSend { contact { email attributes { key value } } }
  verification { matches rerenderedHash subject html text contactRevision reason }
} }`;

describe('what was sent', () => {
  it('re-renders each email from the pinned versions and the contact as of the send, and proves the hash', async () => {
    const [ada, bob] = await createContacts(world, [
      { email: 'ada@audit.example', tags: ['audit'], attributes: { first_name: { type: 'string', value: 'Ada' } } },
      { email: 'bob@audit.example', tags: ['audit'], attributes: { first_name: { type: 'string', value: 'Bob' } } },
    ]);
    const segmentId = await defineSegment(world, { tag: 'audit' });
    const templateId = await createTemplate(world, { subject: 'Hello {{ contact.first_name }}', html: '<p>Hi {{ contact.first_name }}, <a href="https://shop.example.com/x">sale</a></p><a href="{{ unsubscribe_url }}">unsubscribe</a>' });
    const campaignId = await createCampaign(world, { segmentId, templateId });
    await launch(world, campaignId);
    await waitForLaunch(world, campaignId, ['completed']);
    // After the send the contact changes: the proof must use the data as of the send.
    await contactCommand(world, ada!, { type: 'UpdateContactAttributes', data: { changes: { first_name: { type: 'string', value: 'Augusta' } }, at: new Date().toISOString() } });

    const response = await gql(app, world.keys.auditor.key, DELIVERY, { campaignId, contactId: ada });
    expect(response.body.errors).toBeUndefined();
    const delivery = response.body.data!.delivery;
    expect(delivery).toMatchObject({
      campaignId,
      contactId: ada,
      email: 'ada@audit.example',
      outcome: 'SENT',
      variantKey: 'main',
      templateId,
      templateVersion: 1,
      subject: 'Hello Ada',
      events: [{ type: 'EmailSent', actor: 'saga:launch' }],
      campaignAtSend: { status: 'FOUND', campaign: { status: 'RUNNING', templateVersion: 1 } },
      contactAtSend: { contact: { email: 'ada@audit.example', attributes: [{ key: 'first_name', value: 'Ada' }] } },
    });
    expect(delivery.verification).toMatchObject({ matches: true, rerenderedHash: delivery.contentHash, subject: 'Hello Ada', reason: null, contactRevision: 1 }); // ContactCreated, ContactSubscribed; the rename came later
    expect(delivery.verification.html).toContain('Hi Ada');
    expect(delivery.verification.html).toContain('https://t.example.com/t/o/'); // the signed open pixel, re-created
    const sinkMessage = world.sink.accepted.find((m) => m.to.includes('ada@audit.example'))!;
    expect(headerValue(sinkMessage.headers, 'Subject')).toBe(delivery.verification.subject);
    expect(sinkMessage.messageId).toContain(delivery.messageId);

    // The campaign revision the launch was decided at, by revision.
    const byRevision = await gql(app, world.keys.auditor.key, `query($id: ID!, $revision: Int) { campaignAsOf(id: $id, revision: $revision) { campaign { status } } }`, { id: campaignId, revision: delivery.campaignRevision });
    expect(byRevision.body.data!.campaignAsOf.campaign.status).toBe('RUNNING');

    // Every email of Bob; the segment's members when it was sent.
    const sent = await gql(app, world.keys.auditor.key, `query($id: ID!) { emailsSent(contactId: $id) { campaignId subject outcome verification { matches } } }`, { id: bob });
    expect(sent.body.data!.emailsSent).toEqual([{ campaignId, subject: 'Hello Bob', outcome: 'SENT', verification: { matches: true } }]);
    const members = await gql(app, world.keys.auditor.key, `query($id: ID!, $asOf: DateTime!) { segmentMembersAsOf(id: $id, asOf: $asOf) { status memberCount segment { name version } members(first: 10) { edges { node { contactId } } } } }`, { id: segmentId, asOf: delivery.sentAt });
    expect(members.body.data!.segmentMembersAsOf).toMatchObject({ status: 'FOUND', memberCount: 2, segment: { version: 1 } });
    expect(members.body.data!.segmentMembersAsOf.members.edges.map((e: { node: { contactId: string } }) => e.node.contactId).sort()).toEqual([ada, bob].sort());

    // Another TRACKING_SECRET cannot re-create the signed links: no proof, and the reason says why.
    const wrong = await gql(wrongSecretApp, world.keys.auditor.key, DELIVERY, { campaignId, contactId: ada });
    expect(wrong.body.data!.delivery.verification).toMatchObject({ matches: false, subject: 'Hello Ada' });
    expect(wrong.body.data!.delivery.verification.reason).toContain('TRACKING_SECRET');

    // The README's walkthrough queries, verbatim (placeholders filled in).
    const readme = [
      `{ delivery(campaignId: "<campaignId>", contactId: "<contactId>") {
    outcome sentAt messageId variantKey campaignRevision templateId templateVersion subject contentHash opens clicks
    events { type actor recordedAt }
    campaignAtSend { revision campaign { name status sender { email } segmentId templateVersion
                                         variants { variants { key templateId templateVersion splitPercent } } launchedAt launchedBy } }
    contactAtSend { revision contact { email attributes { key value } tags consents { topic status } } }
    verification { matches rerenderedHash subject html text contactRevision reason } } }`,
      `{ campaignAsOf(id: "<campaignId>", revision: 2) { campaign { status name } }
  templateAsOf(id: "<templateId>", version: 1) { template { subject html text } }
  segmentMembersAsOf(id: "<segmentId>", asOf: "<sentAt>") { memberCount members(first: 50) { edges { node { contactId enteredAt } } } }
  campaignHistory(id: "<campaignId>", first: 50) { edges { node { revision type recordedAt actor commandId correlationId causationId
                                                                  changes { path before after } } } } }`,
      `{ emailsSent(contactId: "<contactId>") { campaignId outcome sentAt subject contentHash verification { matches } } }`,
    ];
    const fill = (q: string) => q.replace(/<campaignId>/g, campaignId).replace(/<contactId>/g, ada!).replace(/<templateId>/g, templateId).replace(/<segmentId>/g, segmentId).replace(/<sentAt>/g, delivery.sentAt);
    for (const query of readme) {
      const answer = await gql(app, world.keys.auditor.key, fill(query));
      expect(answer.body.errors, query).toBeUndefined();
    }

    // Nothing for a contact the campaign never sent to.
    expect((await gql(app, world.keys.auditor.key, DELIVERY, { campaignId, contactId: 'nobody' })).body.data!.delivery).toBeNull();
  });
});
