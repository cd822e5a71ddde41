import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { startPipeline } from '../../projections/campaigns/pipeline.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let acme: SeededWorkspace;
let other: SeededWorkspace;
let templateId: string;
let templateB: string;
const segmentId = `vips-${randomUUID().slice(0, 8)}`;

const CREATE_TEMPLATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { templateId } }`;
const CREATE = `mutation($input: CreateCampaignInput!, $commandId: String) { createCampaign(input: $input, commandId: $commandId) { campaignId receipt { streamId revision position duplicate } } }`;
const CAMPAIGN = `query($id: ID!, $position: BigInt) {
  campaign(id: $id, consistentWith: $position) {
    id name status sender { email name } replyTo segmentId templateId templateVersion topic scheduledAt timeZone endReason revision
    launchedAt launchedBy
    template { id name version subject }
    variants { testSamplePercent winnerMetric winnerAfterHours variants { key templateId templateVersion subject splitPercent } }
    winner { variantKey by metric values { key value } }
    stats { audienceSize sent uniqueOpens variants { key sent uniqueOpens } }
  }
}`;
const LIST = `query($first: Int, $after: String, $filter: CampaignFilter, $position: BigInt) {
  campaigns(first: $first, after: $after, filter: $filter, consistentWith: $position) {
    edges { node { name status template { name } stats { sent } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** Runs a campaign mutation; returns its payload or the first error. */
async function mutate(key: string, name: string, input: Record<string, unknown>) {
  const inputType = `${name[0]!.toUpperCase()}${name.slice(1)}Input`;
  const typeName = ['unscheduleCampaign', 'launchCampaign', 'resumeCampaign'].includes(name)
    ? 'CampaignActionInput'
    : ['pauseCampaign', 'cancelCampaign'].includes(name)
      ? 'CampaignActionWithReasonInput'
      : inputType;
  const response = await gql(app, key, `mutation($input: ${typeName}!) { ${name}(input: $input) { campaignId receipt { position revision } } }`, { input });
  return { data: response.body.data?.[name] as { campaignId: string; receipt: { position: string; revision: number } } | undefined, error: response.body.errors?.[0] };
}

async function createCampaign(key: string, input: Record<string, unknown> = {}) {
  const response = await gql(app, key, CREATE, { input: { name: 'Spring sale', sender: { email: 'News@Shop.test', name: 'Shop' }, segmentId, templateId, topic: 'Newsletter', ...input } });
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.createCampaign as { campaignId: string; receipt: { position: string } };
}

const campaign = async (key: string, id: string, position?: string) => (await gql(app, key, CAMPAIGN, { id, position })).body.data!.campaign;

beforeAll(async () => {
  env = await useApiTestEnv('api_campaigns');
  startPipeline(env, 'apicampaigns');
  app = await buildServer(env.deps);
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
  // A segment of acme's, as the segments slice records it (only its stream is consulted).
  const metadata = { correlationId: randomUUID(), causationId: null, commandId: null, actor: 'test', workspaceId: acme.workspaceId, schemaVersion: 1 };
  await env.eventStore.append(`segment-${segmentId}`, [{ type: 'SegmentDefined', data: { segmentId, name: 'VIPs', description: null, rules: { tag: 'vip' }, version: 1, definedAt: new Date().toISOString() }, metadata }], { expectedRevision: 'no_stream' });
  const template = async (name: string) => (await gql(app, acme.keys.marketer.key, CREATE_TEMPLATE, { input: { name, subject: `${name} {{ contact.email }}`, html: '<p>x</p>' } })).body.data!.createTemplate.templateId as string;
  templateId = await template('Main');
  templateB = await template('Other');
  await gql(app, acme.keys.marketer.key, `mutation($id: ID!) { changeTemplate(input: { templateId: $id, subject: "Main v2", html: "<p>2</p>" }) { templateId } }`, { id: templateId });
});
afterAll(() => app.close());

describe('campaigns over GraphQL', () => {
  it('creates a campaign pinned to the current template version, with zeroed stats', async () => {
    const created = await createCampaign(acme.keys.marketer.key);
    expect(await campaign(acme.keys.auditor.key, created.campaignId, created.receipt.position)).toEqual({
      id: created.campaignId,
      name: 'Spring sale',
      status: 'DRAFT',
      sender: { email: 'news@shop.test', name: 'Shop' },
      replyTo: null,
      segmentId,
      templateId,
      templateVersion: 2,
      topic: 'newsletter',
      scheduledAt: null,
      timeZone: null,
      endReason: null,
      revision: 0,
      launchedAt: null,
      launchedBy: null,
      template: { id: templateId, name: 'Main', version: 2, subject: 'Main v2' },
      variants: null,
      winner: null,
      stats: { audienceSize: 0, sent: 0, uniqueOpens: 0, variants: [] },
    });
  });

  it('a retried command id names the same campaign and writes nothing new', async () => {
    const commandId = `create-${randomUUID()}`;
    const input = { name: 'Retry', segmentId };
    const first = await gql(app, acme.keys.marketer.key, CREATE, { input, commandId });
    const second = await gql(app, acme.keys.marketer.key, CREATE, { input, commandId });
    expect(second.body.data!.createCampaign).toEqual({ ...first.body.data!.createCampaign, receipt: { ...first.body.data!.createCampaign.receipt, duplicate: true } });
  });

  it('schedules, unschedules, launches, pauses, resumes and cancels; a running audience is frozen', async () => {
    const { campaignId } = await createCampaign(acme.keys.marketer.key);
    const scheduled = await mutate(acme.keys.marketer.key, 'scheduleCampaign', { campaignId, at: '2099-06-01T09:00', timeZone: 'Europe/Berlin' });
    expect(await campaign(acme.keys.auditor.key, campaignId, scheduled.data!.receipt.position)).toMatchObject({ status: 'SCHEDULED', scheduledAt: '2099-06-01T07:00:00.000Z', timeZone: 'Europe/Berlin' });
    expect((await mutate(acme.keys.marketer.key, 'unscheduleCampaign', { campaignId })).error).toBeUndefined();
    const launched = await mutate(acme.keys.marketer.key, 'launchCampaign', { campaignId });
    expect(await campaign(acme.keys.auditor.key, campaignId, launched.data!.receipt.position)).toMatchObject({ status: 'RUNNING', launchedBy: `apikey:${acme.keys.marketer.id}` });

    const frozen = await mutate(acme.keys.marketer.key, 'updateCampaign', { campaignId, segmentId: null });
    expect(frozen.error).toMatchObject({ message: 'Changing segmentId is not allowed when the campaign is running', extensions: { code: 'INVALID_TRANSITION' } });
    expect((await mutate(acme.keys.marketer.key, 'updateCampaign', { campaignId, name: 'Renamed while running' })).error).toBeUndefined();
    expect((await mutate(acme.keys.marketer.key, 'pauseCampaign', { campaignId, reason: 'check links' })).error).toBeUndefined();
    expect((await mutate(acme.keys.marketer.key, 'pauseCampaign', { campaignId })).error?.extensions).toMatchObject({ code: 'INVALID_TRANSITION' });
    expect((await mutate(acme.keys.marketer.key, 'resumeCampaign', { campaignId })).error).toBeUndefined();
    const cancelled = await mutate(acme.keys.marketer.key, 'cancelCampaign', { campaignId, reason: 'wrong audience' });
    expect(await campaign(acme.keys.auditor.key, campaignId, cancelled.data!.receipt.position)).toMatchObject({ status: 'CANCELLED', endReason: 'wrong audience', name: 'Renamed while running', revision: 7 });
  });

  it('refuses bad input with the field, and writes nothing', async () => {
    const { campaignId } = await createCampaign(acme.keys.marketer.key, { segmentId: null });
    const head = await env.eventStore.headPosition();
    const expectField = async (name: string, input: Record<string, unknown>, field: string, message?: RegExp) => {
      const { error } = await mutate(acme.keys.marketer.key, name, input);
      expect(error?.extensions, `${name} ${JSON.stringify(input)}`).toMatchObject({ code: 'BAD_USER_INPUT', field });
      if (message !== undefined) expect(error?.message).toMatch(message);
    };
    await expectField('scheduleCampaign', { campaignId, at: '2099-01-01T00:00:00Z' }, 'segmentId', /cannot be scheduled: it has no segment \(segmentId\)/);
    await expectField('launchCampaign', { campaignId }, 'segmentId', /cannot be launched/);
    await expectField('updateCampaign', { campaignId, segmentId: 'nope' }, 'input.segmentId', /no segment nope in this workspace/);
    await expectField('updateCampaign', { campaignId, templateId: randomUUID() }, 'input.templateId');
    await expectField('updateCampaign', { campaignId, templateId, templateVersion: 3 }, 'input.templateVersion', /versions 1 to 2, not 3/);
    await expectField('updateCampaign', { campaignId, sender: { email: 'not-an-email' } }, 'input.sender.email');
    await expectField('updateCampaign', { campaignId, sender: { email: 'a@b.test', name: 'Evil\r\nBcc: x@y.z' } }, 'input.sender.name');
    await expectField('updateCampaign', { campaignId }, 'input');
    await expectField('updateCampaign', { campaignId: 'abc', name: 'x' }, 'input.campaignId');
    await expectField('createCampaign', { name: '' }, 'input.name');
    const ready = await mutate(acme.keys.marketer.key, 'updateCampaign', { campaignId, segmentId });
    const afterReady = await env.eventStore.headPosition();
    expect(ready.error).toBeUndefined();
    await expectField('scheduleCampaign', { campaignId, at: '2001-01-01T00:00:00Z' }, 'input.at', /in the past/);
    await expectField('scheduleCampaign', { campaignId, at: 'soon' }, 'input.at');
    await expectField('scheduleCampaign', { campaignId, at: '2099-01-01T00:00:00Z', timeZone: 'Atlantis/Capital' }, 'input.timeZone');
    const variants = [
      { key: 'A', templateId, splitPercent: 50 },
      { key: 'B', templateId: templateB, splitPercent: 40 },
    ];
    await expectField('defineCampaignVariants', { campaignId, variants, testSamplePercent: 20, winnerMetric: 'OPEN_RATE' }, 'input.variants', /sum to 100, got 90/);
    await expectField('defineCampaignVariants', { campaignId, variants: [{ ...variants[0], splitPercent: 100 }], testSamplePercent: 20, winnerMetric: 'OPEN_RATE' }, 'input.variants');
    await expectField('defineCampaignVariants', { campaignId, variants: [variants[0], { ...variants[1], splitPercent: 50, subject: '{{ contact.nope }}' }], testSamplePercent: 20, winnerMetric: 'OPEN_RATE' }, 'input.variants[1].subject');
    expect(await env.eventStore.headPosition()).toBe(afterReady);
    expect(afterReady! > head!).toBe(true);
  });

  it('defines A/B variants and lets a person choose the winner once running', async () => {
    const { campaignId } = await createCampaign(acme.keys.marketer.key);
    const variants = [
      { key: 'A', templateId, splitPercent: 50 },
      { key: 'B', templateId: templateB, templateVersion: 1, subject: 'B for {{ contact.email }}', splitPercent: 50 },
    ];
    const defined = await mutate(acme.keys.marketer.key, 'defineCampaignVariants', { campaignId, variants, testSamplePercent: 20, winnerMetric: 'CLICK_RATE' });
    expect(defined.error).toBeUndefined();
    expect((await mutate(acme.keys.marketer.key, 'chooseCampaignWinner', { campaignId, variantKey: 'A' })).error?.extensions).toMatchObject({ code: 'INVALID_TRANSITION' });
    await mutate(acme.keys.marketer.key, 'launchCampaign', { campaignId });
    expect((await mutate(acme.keys.marketer.key, 'chooseCampaignWinner', { campaignId, variantKey: 'Z' })).error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.variantKey' });
    const chosen = await mutate(acme.keys.marketer.key, 'chooseCampaignWinner', { campaignId, variantKey: 'B' });
    expect(await campaign(acme.keys.auditor.key, campaignId, chosen.data!.receipt.position)).toMatchObject({
      variants: {
        testSamplePercent: 20,
        winnerMetric: 'CLICK_RATE',
        winnerAfterHours: null,
        variants: [
          { key: 'A', templateId, templateVersion: 2, subject: null, splitPercent: 50 },
          { key: 'B', templateId: templateB, templateVersion: 1, subject: 'B for {{ contact.email }}', splitPercent: 50 },
        ],
      },
      winner: { variantKey: 'B', by: 'manual', metric: 'CLICK_RATE', values: [{ key: 'A', value: 0 }, { key: 'B', value: 0 }] },
      stats: { sent: 0, variants: [{ key: 'A', sent: 0, uniqueOpens: 0 }, { key: 'B', sent: 0, uniqueOpens: 0 }] },
    });
  });

  it('lists newest first with filters and pages, batching templates and stats', async () => {
    const ws = await seedWorkspace(env.db);
    const tpl = (await gql(app, ws.keys.marketer.key, CREATE_TEMPLATE, { input: { name: 'T', subject: 's', html: 'h' } })).body.data!.createTemplate.templateId;
    const names = ['first', 'second', 'third', 'fourth'];
    const ids: string[] = [];
    for (const name of names) ids.push((await createCampaign(ws.keys.marketer.key, { name, segmentId: null, templateId: tpl })).campaignId);
    const launched = await mutate(ws.keys.marketer.key, 'launchCampaign', { campaignId: ids[1] });
    expect(launched.error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'segmentId' });
    const scheduled = await gql(app, ws.keys.marketer.key, `mutation($id: ID!) { cancelCampaign(input: { campaignId: $id }) { receipt { position } } }`, { id: ids[1] });
    const position = scheduled.body.data!.cancelCampaign.receipt.position;

    const page1 = await gql(app, ws.keys.auditor.key, LIST, { first: 3, position });
    expect(page1.body.errors).toBeUndefined();
    expect(page1.body.data!.campaigns.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { name: 'fourth', status: 'DRAFT', template: { name: 'T' }, stats: { sent: 0 } },
      { name: 'third', status: 'DRAFT', template: { name: 'T' }, stats: { sent: 0 } },
      { name: 'second', status: 'CANCELLED', template: { name: 'T' }, stats: { sent: 0 } },
    ]);
    const page2 = await gql(app, ws.keys.auditor.key, LIST, { first: 3, after: page1.body.data!.campaigns.pageInfo.endCursor });
    expect(page2.body.data!.campaigns).toMatchObject({ edges: [{ node: { name: 'first' } }], pageInfo: { hasNextPage: false } });
    const cancelled = await gql(app, ws.keys.auditor.key, LIST, { filter: { status: 'CANCELLED' } });
    expect(cancelled.body.data!.campaigns.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['second']);
    const future = await gql(app, ws.keys.auditor.key, LIST, { filter: { createdAfter: '2999-01-01T00:00:00Z' } });
    expect(future.body.data!.campaigns.edges).toEqual([]);
    const past = await gql(app, ws.keys.auditor.key, LIST, { filter: { createdBefore: '2999-01-01T00:00:00Z', scheduledAfter: '2000-01-01T00:00:00Z' } });
    expect(past.body.data!.campaigns.edges).toEqual([]);
  });

  it('scheduled campaigns filter by their send time', async () => {
    const { campaignId } = await createCampaign(acme.keys.marketer.key, { name: 'Far future' });
    const scheduled = await mutate(acme.keys.marketer.key, 'scheduleCampaign', { campaignId, at: '2098-01-01T00:00:00Z' });
    const filter = { status: 'SCHEDULED', scheduledAfter: '2097-12-31T00:00:00Z', scheduledBefore: '2098-01-02T00:00:00Z' };
    const response = await gql(app, acme.keys.auditor.key, LIST, { filter, position: scheduled.data!.receipt.position });
    expect(response.body.data!.campaigns.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['Far future']);
  });

  it('auditors read but cannot write; other workspaces neither see nor change campaigns', async () => {
    const created = await createCampaign(acme.keys.marketer.key);
    const denied = await gql(app, acme.keys.auditor.key, CREATE, { input: { name: 'x' } });
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect((await mutate(acme.keys.auditor.key, 'launchCampaign', { campaignId: created.campaignId })).error?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect(await campaign(other.keys.admin.key, created.campaignId, created.receipt.position)).toBeNull();
    expect((await gql(app, other.keys.admin.key, LIST, {})).body.data!.campaigns.edges).toEqual([]);
    expect((await mutate(other.keys.admin.key, 'launchCampaign', { campaignId: created.campaignId })).error?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    // Their own campaign cannot use acme's segment or template either.
    const theirs = await gql(app, other.keys.admin.key, CREATE, { input: { name: 'x', segmentId } });
    expect(theirs.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.segmentId' });
    const theirTemplate = await gql(app, other.keys.admin.key, CREATE, { input: { name: 'x', templateId } });
    expect(theirTemplate.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.templateId' });
    expect(await campaign(acme.keys.auditor.key, 'not-a-uuid')).toBeNull();
  });
});
