/**
 * Live dashboards: a GraphQL subscription (WebSocket) to one campaign receives its stats as delivery events
 * reach the campaign-stats read model — NATS change notices from the projector, coalesced per 250 ms.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { emailStreamId } from '../../../src/domain/deliveries/events.js';
import { loadConfig } from '../../../src/infra/config.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';
import { startPipeline } from '../../projections/campaigns/pipeline.js';
import { subscribe } from '../../support/graphqlWs.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let acme: SeededWorkspace;
let other: SeededWorkspace;
let campaignId: string;
const segmentId = `live-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  env = await useApiTestEnv('campaign_live');
  const prefix = startPipeline(env, 'campaignlive').prefix;
  app = await buildServer({ ...env.deps, config: loadConfig({ NODE_ENV: 'test', NATS_PREFIX: prefix }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
  const metadata = { correlationId: randomUUID(), causationId: null, commandId: null, actor: 'test', workspaceId: acme.workspaceId, schemaVersion: 1 };
  await env.eventStore.append(`segment-${segmentId}`, [{ type: 'SegmentDefined', data: { segmentId, name: 'All', description: null, rules: { tag: 'all' }, version: 1, definedAt: new Date().toISOString() }, metadata }], { expectedRevision: 'no_stream' });
  const template = await gql(app, acme.keys.marketer.key, 'mutation { createTemplate(input: { name: "T", subject: "Hi", html: "<p>x</p>" }) { templateId } }');
  const created = await gql(app, acme.keys.marketer.key, 'mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaignId receipt { position } } }', {
    input: { name: 'Live', sender: { email: 'news@shop.test', name: 'Shop' }, segmentId, templateId: template.body.data!.createTemplate.templateId, topic: 'newsletter' },
  });
  campaignId = created.body.data!.createCampaign.campaignId;
  // Wait until the campaign is readable, so the subscription's pushes reflect only what follows.
  await gql(app, acme.keys.auditor.key, 'query($id: ID!, $p: BigInt) { campaign(id: $id, consistentWith: $p) { id } }', { id: campaignId, p: created.body.data!.createCampaign.receipt.position });
});
afterAll(() => app.close());

const wsUrl = () => `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/graphql`;
const LIVE = 'subscription($id: ID!) { campaignUpdated(id: $id) { id status stats { sent uniqueOpens } } }';

async function send(contactId: string, workspaceId = acme.workspaceId) {
  const metadata = { correlationId: randomUUID(), causationId: null, commandId: null, actor: 'saga:launch', workspaceId, schemaVersion: 1 };
  const data = { campaignId, variantKey: '', contactId, email: `${contactId}@x.test`, messageId: `${campaignId}..${contactId}@shop.test`, campaignRevision: 1, templateId: 't', templateVersion: 1, subject: 'Hi', contentHash: 'h', sentAt: new Date().toISOString() };
  await env.eventStore.append(emailStreamId(campaignId, contactId), [{ type: 'EmailSent', data, metadata }], { expectedRevision: 'no_stream' });
}

describe('campaignUpdated subscription', () => {
  it('pushes fresh stats as emails are sent, coalescing bursts, and only to the owning workspace', async () => {
    const live = await subscribe(wsUrl(), LIVE, { id: campaignId }, { authorization: `Bearer ${acme.keys.auditor.key}` });
    const stranger = await subscribe(wsUrl(), LIVE, { id: campaignId }, { authorization: `Bearer ${other.keys.auditor.key}` });
    for (let i = 0; i < 30; i++) await send(randomUUID());
    const deadline = Date.now() + 15_000;
    let last: { data: { campaignUpdated: { stats: { sent: number } } } } | undefined;
    while (Date.now() < deadline) {
      await live.waitFor(1);
      last = live.received.at(-1) as typeof last;
      if (last?.data.campaignUpdated.stats.sent === 30) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last?.data.campaignUpdated).toMatchObject({ id: campaignId, status: 'DRAFT', stats: { sent: 30 } });
    // 30 events in a burst are far fewer pushes than events.
    expect(live.received.length).toBeLessThan(30);
    // The other workspace's subscriber hears nothing about a campaign that is not theirs.
    expect(stranger.received).toEqual([]);
    await live.close();
    await stranger.close();
  }, 30_000);
});
