/**
 * The audit slice over GraphQL: campaignAsOf / contactAsOf / templateAsOf / segmentMembersAsOf and
 * campaignHistory, against the real event store (data written through the API's own mutations).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let acme: SeededWorkspace;
let other: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('api_audit_temporal');
  app = await buildServer(env.deps);
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
});
afterAll(async () => {
  await app.close();
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

async function ok(key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await gql(app, key, query, variables);
  expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
  return response.body.data!;
}

async function errorOf(key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await gql(app, key, query, variables);
  return response.body.errors?.[0]?.extensions?.code;
}

const CAMPAIGN_AS_OF = `query($id: ID!, $asOf: DateTime, $revision: Int) {
  campaignAsOf(id: $id, asOf: $asOf, revision: $revision) {
    campaignId asOf status reason createdAt revision position recordedAt snapshotRevision eventsFolded
    campaign { id status name sender { email name } topic scheduledAt timeZone state }
  }
}`;

async function createCampaign(name: string): Promise<{ campaignId: string; at: string }> {
  const data = await ok(acme.keys.marketer.key, `mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaignId } }`, { input: { name, sender: { email: 'news@shop.test', name: 'Shop' } } });
  const campaignId = data.createCampaign.campaignId as string;
  const history = await ok(acme.keys.auditor.key, `query($id: ID!) { campaignHistory(id: $id) { edges { node { recordedAt } } } }`, { id: campaignId });
  return { campaignId, at: history.campaignHistory.edges[0].node.recordedAt };
}

async function rename(campaignId: string, name: string): Promise<void> {
  await ok(acme.keys.marketer.key, `mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { campaignId } }`, { input: { campaignId, name } });
}

describe('campaignAsOf', () => {
  it('folds the campaign as of an instant and as of a revision; an auditor may ask', async () => {
    const before = new Date().toISOString();
    await tick();
    const { campaignId, at: createdAt } = await createCampaign('Spring');
    await tick();
    await rename(campaignId, 'Spring sale');
    await tick();
    const middle = new Date().toISOString();
    await tick();
    await rename(campaignId, 'Spring sale (final)');

    const asOfMiddle = (await ok(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, asOf: middle })).campaignAsOf;
    expect(asOfMiddle).toMatchObject({ campaignId, asOf: middle, status: 'FOUND', reason: null, revision: 1, campaign: { id: campaignId, status: 'DRAFT', name: 'Spring sale', sender: { email: 'news@shop.test' } } });
    expect(asOfMiddle.campaign.state).toMatchObject({ status: 'draft', settings: { name: 'Spring sale' } });

    const atCreation = (await ok(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, asOf: createdAt })).campaignAsOf;
    expect(atCreation).toMatchObject({ status: 'FOUND', revision: 0, campaign: { name: 'Spring' } });

    const byRevision = (await ok(acme.keys.service.key, CAMPAIGN_AS_OF, { id: campaignId, revision: 2 })).campaignAsOf;
    expect(byRevision).toMatchObject({ asOf: null, status: 'FOUND', revision: 2, campaign: { name: 'Spring sale (final)' } });

    const tooEarly = (await ok(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, asOf: before })).campaignAsOf;
    expect(tooEarly).toMatchObject({ status: 'NOT_YET_CREATED', campaign: null, revision: null, createdAt });
    expect(tooEarly.reason).toContain('did not exist yet');
  });

  it('refuses bad input with clear codes: unknown campaign, other workspace, unknown revision, no target', async () => {
    const { campaignId } = await createCampaign('Codes');
    const now = new Date().toISOString();
    expect(await errorOf(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: randomUUID(), asOf: now })).toBe('NOT_FOUND');
    expect(await errorOf(other.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, asOf: now })).toBe('NOT_FOUND');
    expect(await errorOf(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, revision: 5 })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, revision: -1 })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, CAMPAIGN_AS_OF, { id: campaignId, asOf: 'yesterday' })).toBe('BAD_USER_INPUT');
    expect(await errorOf(undefined as unknown as string, CAMPAIGN_AS_OF, { id: campaignId, asOf: now })).toBe('UNAUTHENTICATED');
  });

  it('what was sent: ids that are not uuids are BAD_USER_INPUT (they cannot name an email stream), unknown ones answer nothing', async () => {
    const DELIVERY = 'query($campaignId: ID!, $contactId: ID!) { delivery(campaignId: $campaignId, contactId: $contactId) { outcome } }';
    const SENT = 'query($contactId: ID!) { emailsSent(contactId: $contactId) { outcome } }';
    expect(await errorOf(acme.keys.auditor.key, DELIVERY, { campaignId: 'x/y', contactId: randomUUID() })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, DELIVERY, { campaignId: randomUUID(), contactId: 'a b' })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, SENT, { contactId: '_' })).toBe('BAD_USER_INPUT');
    const unknown = await gql(app, acme.keys.auditor.key, DELIVERY, { campaignId: randomUUID(), contactId: randomUUID() });
    expect(unknown.body).toEqual({ data: { delivery: null } });
  });
});

describe('campaignHistory', () => {
  it('lists every event with its envelope and a diff of the folded state, in pages', async () => {
    const { campaignId } = await createCampaign('History');
    await rename(campaignId, 'History 2');
    await ok(acme.keys.marketer.key, `mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { campaignId } }`, { input: { campaignId, topic: 'newsletter', replyTo: 'help@shop.test' } });
    const QUERY = `query($id: ID!, $first: Int, $after: String) { campaignHistory(id: $id, first: $first, after: $after) {
      edges { cursor node { type revision position recordedAt actor commandId correlationId causationId schemaVersion data changes { path before after } } }
      pageInfo { hasNextPage endCursor } } }`;
    const page1 = (await ok(acme.keys.auditor.key, QUERY, { id: campaignId, first: 2 })).campaignHistory;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const [created, renamed] = page1.edges.map((e: { node: unknown }) => e.node);
    expect(created).toMatchObject({ type: 'CampaignCreated', revision: 0, actor: `apikey:${acme.keys.marketer.id}`, schemaVersion: 1, causationId: null });
    expect(created.commandId).toEqual(expect.any(String));
    expect(created.correlationId).toEqual(expect.any(String));
    expect(created.changes).toContainEqual({ path: 'status', before: 'none', after: 'draft' });
    expect(created.changes).toContainEqual({ path: 'settings', before: null, after: expect.objectContaining({ name: 'History' }) });
    expect(renamed).toMatchObject({ type: 'CampaignUpdated', revision: 1, changes: [{ path: 'settings.name', before: 'History', after: 'History 2' }] });

    const page2 = (await ok(acme.keys.auditor.key, QUERY, { id: campaignId, first: 2, after: page1.pageInfo.endCursor })).campaignHistory;
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(page2.edges.map((e: { node: { changes: unknown } }) => e.node.changes)).toEqual([
      [
        { path: 'settings.replyTo', before: null, after: 'help@shop.test' },
        { path: 'settings.topic', before: null, after: 'newsletter' },
      ],
    ]);
    expect(await errorOf(acme.keys.auditor.key, QUERY, { id: randomUUID() })).toBe('NOT_FOUND');
    expect(await errorOf(other.keys.admin.key, QUERY, { id: campaignId })).toBe('NOT_FOUND');
  });
});

describe('templateAsOf and contactAsOf', () => {
  it('returns a template by version or as of an instant; an unknown version is BAD_USER_INPUT', async () => {
    const created = await ok(acme.keys.marketer.key, `mutation { createTemplate(input: { name: "T", subject: "v1 {{ contact.email }}", html: "<p>one</p>" }) { templateId } }`);
    const templateId = created.createTemplate.templateId as string;
    await tick();
    const between = new Date().toISOString();
    await tick();
    await ok(acme.keys.marketer.key, `mutation($id: ID!) { changeTemplate(input: { templateId: $id, subject: "v2", html: "<p>two</p>" }) { templateId } }`, { id: templateId });
    const QUERY = `query($id: ID!, $version: Int, $asOf: DateTime) { templateAsOf(id: $id, version: $version, asOf: $asOf) { status revision template { version subject html status } } }`;
    expect((await ok(acme.keys.auditor.key, QUERY, { id: templateId, version: 2 })).templateAsOf).toMatchObject({ status: 'FOUND', template: { version: 2, subject: 'v2', html: '<p>two</p>', status: 'ACTIVE' } });
    expect((await ok(acme.keys.auditor.key, QUERY, { id: templateId, version: 1 })).templateAsOf).toMatchObject({ revision: 0, template: { version: 1, subject: 'v1 {{ contact.email }}' } });
    expect((await ok(acme.keys.auditor.key, QUERY, { id: templateId, asOf: between })).templateAsOf).toMatchObject({ template: { version: 1 } });
    expect(await errorOf(acme.keys.auditor.key, QUERY, { id: templateId, version: 3 })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, QUERY, { id: templateId })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, QUERY, { id: templateId, version: 1, asOf: between })).toBe('BAD_USER_INPUT');
    expect(await errorOf(acme.keys.auditor.key, QUERY, { id: randomUUID(), version: 1 })).toBe('NOT_FOUND');
  });

  it('returns the contact as of an instant', async () => {
    const created = await ok(acme.keys.marketer.key, `mutation { createContact(input: { email: "ada@example.com", attributes: [{ key: "plan", type: STRING, value: "free" }] }) { contactId } }`);
    const contactId = created.createContact.contactId as string;
    await tick();
    const between = new Date().toISOString();
    await tick();
    await ok(acme.keys.marketer.key, `mutation($id: ID!) { updateContactAttributes(input: { contactId: $id, changes: [{ key: "plan", type: STRING, value: "pro" }] }) { contactId } }`, { id: contactId });
    const QUERY = `query($id: ID!, $asOf: DateTime!) { contactAsOf(id: $id, asOf: $asOf) { status snapshotRevision contact { id status email attributes { key type value } tags } } }`;
    expect((await ok(acme.keys.auditor.key, QUERY, { id: contactId, asOf: between })).contactAsOf).toMatchObject({
      status: 'FOUND',
      snapshotRevision: null,
      contact: { id: contactId, status: 'ACTIVE', email: 'ada@example.com', attributes: [{ key: 'plan', type: 'STRING', value: 'free' }] },
    });
    expect((await ok(acme.keys.auditor.key, QUERY, { id: contactId, asOf: new Date().toISOString() })).contactAsOf.contact.attributes).toEqual([{ key: 'plan', type: 'STRING', value: 'pro' }]);
    expect((await ok(acme.keys.auditor.key, QUERY, { id: contactId, asOf: '2020-01-01T00:00:00Z' })).contactAsOf).toMatchObject({ status: 'NOT_YET_CREATED', contact: null });
  });
});
