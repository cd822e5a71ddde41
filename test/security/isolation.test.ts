import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/infra/config.js';
import { PROJECTIONS } from '../../src/projections/index.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { mutationNames, queryNames, sdlSchema } from '../fuzz/schemaFields.js';
import { subscribe, type WsSubscription } from '../support/graphqlWs.js';
import { startPipeline } from '../projections/campaigns/pipeline.js';
import { operationOf } from './schemaWalk.js';

/**
 * Workspace isolation, over EVERY Query and Mutation field of the schema: workspace B's admin key, given the ids
 * of workspace A's contact, segment, template, campaign, import job and API key in every ID argument, never sees
 * any of A's data and never changes it. Subscriptions: B never receives A's events.
 */

const env = await useApiTestEnv('security_isolation');
// At module level: startPipeline registers its cleanup with afterAll.
const pipeline = startPipeline(env, 'secisolation', PROJECTIONS);
let app: FastifyInstance;
let a: SeededWorkspace;
let b: SeededWorkspace;
const mark = randomUUID().slice(0, 8);
const victim = { email: `victim-${mark}@example.com`, template: `VictimTemplate-${mark}`, segment: `VictimSegment-${mark}`, campaign: `VictimCampaign-${mark}`, file: `victim-${mark}.csv` };
const ids: Record<'contact' | 'template' | 'segment' | 'campaign' | 'importJob' | 'apiKey', string> = { contact: '', template: '', segment: '', campaign: '', importJob: '', apiKey: '' };
let lastPosition: bigint | null = null;

/** Runs a mutation as A's admin and returns its data; remembers the position for the pipeline. */
async function asA(query: string, variables: Record<string, unknown>): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- response shapes vary
  const response = await gql(app, a.keys.admin.key, query, variables);
  expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
  const data = Object.values(response.body.data!)[0] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response shapes vary
  const position = data.receipt?.position;
  if (typeof position === 'string') lastPosition = BigInt(position);
  return data;
}

beforeAll(async () => {
  app = await buildServer({ ...env.deps, config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: env.url, LOG_LEVEL: 'silent', RATE_LIMIT: 'off', NATS_PREFIX: pipeline.prefix }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  a = await seedWorkspace(env.db, `A-${mark}`);
  b = await seedWorkspace(env.db, 'B');
  ids.apiKey = a.keys.marketer.id;
  ids.contact = (await asA('mutation($input: CreateContactInput!) { createContact(input: $input) { contactId receipt { position } } }', { input: { email: victim.email, tags: [`tag-${mark}`] } })).contactId;
  ids.template = (await asA('mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { templateId receipt { position } } }', { input: { name: victim.template, subject: `Subject ${mark}`, html: `<p>${mark}</p>` } })).templateId;
  ids.segment = (await asA('mutation($input: DefineSegmentInput!) { defineSegment(input: $input) { segmentId receipt { position } } }', { input: { name: victim.segment, rules: { all: [{ tag: `tag-${mark}` }] } } })).segmentId;
  ids.campaign = (
    await asA('mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaignId receipt { position } } }', {
      input: { name: victim.campaign, sender: { email: `news-${mark}@shop.example`, name: 'Shop' }, segmentId: ids.segment, templateId: ids.template, topic: 'newsletter' },
    })
  ).campaignId;
  ids.importJob = (await asA('mutation($csv: String!, $mapping: ImportMapping!) { importContacts(csv: $csv, mapping: $mapping, fileName: "' + victim.file + '") { id } }', { csv: `Email\nimported-${mark}@example.com\n`, mapping: { email: 'Email' } })).id;
  await pipeline.caughtUp(lastPosition);
});
afterAll(() => app.close());

/** Everything of A's that must never show up in B's answers: ids and distinctive names. */
const secrets = () => [...Object.values(ids), mark];
/** The data part only: an error may echo the id B asked for ("Contact <id> not found"), which is not a leak. */
const leaked = (data: unknown) => secrets().filter((s) => JSON.stringify(data ?? null).includes(s));
/** `id` arguments get each of A's ids in turn; named ones (`contactId`, `campaignId`, ...) the matching id of A's. */
const idFor = (id: string) => (argName: string) => (argName === 'id' ? id : idByArg(argName, id));
const idByArg = (argName: string, fallback: string) =>
  argName.startsWith('contact') || argName === 'survivorId' || argName === 'duplicateId' ? ids.contact : argName.startsWith('campaign') ? ids.campaign : argName.startsWith('segment') ? ids.segment : argName.startsWith('template') ? ids.template : fallback;

async function workspaceEvents(workspaceId: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM es_events WHERE metadata->>'workspaceId' = ${workspaceId}`.execute(env.db);
  return Number(rows[0]!.n);
}

describe('queries', () => {
  it('A itself sees its data (the checks below are not vacuous)', async () => {
    const response = await gql(app, a.keys.admin.key, `{ contacts(first: 10) { edges { node { id email } } } templates(first: 10) { edges { node { name } } } segments(first: 10) { edges { node { name } } } campaigns(first: 10) { edges { node { name } } } importJobs(first: 5) { edges { node { fileName } } } }`);
    const data = JSON.stringify(response.body.data);
    for (const marker of [victim.email, victim.template, victim.segment, victim.campaign, victim.file]) expect(data).toContain(marker);
  });

  it("the same generated queries, run by A, do show A's data (the detector works)", async () => {
    const showing = new Set<string>();
    for (const name of queryNames) {
      const field = sdlSchema.getQueryType()!.getFields()[name]!;
      for (const id of Object.values(ids)) {
        const { query, variables } = operationOf('query', field, idFor(id), 3);
        if (leaked((await gql(app, a.keys.admin.key, query, variables)).body.data).length > 0) showing.add(name);
      }
    }
    for (const name of ['contacts', 'contact', 'templates', 'template', 'segments', 'segment', 'campaigns', 'campaign', 'importJob', 'importJobs', 'apiKeys']) expect(showing).toContain(name);
  });

  it.each(queryNames)('%s: B sees nothing of A, by id or in a list', async (name) => {
    const field = sdlSchema.getQueryType()!.getFields()[name]!;
    for (const id of Object.values(ids)) {
      const { query, variables } = operationOf('query', field, idFor(id), 3);
      const response = await gql(app, b.keys.admin.key, query, variables);
      expect(response.statusCode, JSON.stringify(response.body).slice(0, 500)).toBeLessThan(500);
      expect(leaked(response.body.data), `${query} ${JSON.stringify(variables)} → ${JSON.stringify(response.body.data).slice(0, 500)}`).toEqual([]);
    }
  });
});

describe('mutations', () => {
  it.each(mutationNames)("%s: B cannot change A's data through A's ids", async (name) => {
    const field = sdlSchema.getMutationType()!.getFields()[name]!;
    const before = await workspaceEvents(a.workspaceId);
    for (const id of Object.values(ids)) {
      const { query, variables } = operationOf('mutation', field, idFor(id), 2);
      const response = await gql(app, b.keys.admin.key, query, variables);
      expect(response.statusCode).toBeLessThan(500);
      expect(leaked(response.body.data), `${name} answered with A's data`).toEqual([]);
    }
    expect(await workspaceEvents(a.workspaceId), `${name} appended to A's workspace`).toBe(before);
    expect((await gql(app, a.keys.marketer.key, '{ me { role } }')).body.data?.me, "A's key still works").toEqual({ role: 'MARKETER' });
  });
});

describe('after everything B tried', () => {
  it("A's data is intact", async () => {
    const response = await gql(app, a.keys.admin.key, 'query($c: ID!, $t: ID!, $s: ID!, $k: ID!) { contact(id: $c) { email } template(id: $t) { name } segment(id: $s) { name } campaign(id: $k) { name } }', { c: ids.contact, t: ids.template, s: ids.segment, k: ids.campaign });
    expect(response.body.data).toEqual({ contact: { email: victim.email }, template: { name: victim.template }, segment: { name: victim.segment }, campaign: { name: victim.campaign } });
  });
});

describe('subscriptions', () => {
  const opened: WsSubscription[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });
  const url = () => `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/graphql`;
  const open = async (key: string, query: string, variables: Record<string, unknown> = {}) => {
    const subscription = await subscribe(url(), query, variables, { authorization: `Bearer ${key}` });
    opened.push(subscription);
    return subscription;
  };

  it("B receives none of A's events, on activityAppended nor on campaignUpdated with A's campaign id", async () => {
    const activity = '{ activityAppended { streamId eventType } }';
    const campaign = 'subscription($id: ID!) { campaignUpdated(id: $id) { id name status } }';
    const bActivity = await open(b.keys.admin.key, `subscription ${activity}`);
    const bCampaign = await open(b.keys.admin.key, campaign, { id: ids.campaign });
    const aCampaign = await open(a.keys.auditor.key, campaign, { id: ids.campaign });
    const aActivity = await open(a.keys.auditor.key, `subscription ${activity}`);

    await asA('mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { receipt { position } } }', { input: { campaignId: ids.campaign, name: `${victim.campaign} v2` } });
    await asA('mutation($input: CreateContactInput!) { createContact(input: $input) { receipt { position } } }', { input: { email: `second-${mark}@example.com` } });
    await aCampaign.waitFor(1);
    await aActivity.waitFor(1);
    // Then B does something of its own: once B has been told about it, A's earlier changes would have arrived too.
    const own = await gql(app, b.keys.admin.key, 'mutation($input: CreateContactInput!) { createContact(input: $input) { contactId } }', { input: { email: `b-${randomUUID().slice(0, 8)}@example.com` } });
    const ownStream = `contact-${own.body.data!.createContact.contactId}`;
    await bActivity.waitFor(1);
    expect(JSON.stringify(aCampaign.received)).toContain(`${victim.campaign} v2`);
    expect(JSON.stringify(bActivity.received)).toContain(ownStream);
    expect(leaked(bActivity.received)).toEqual([]);
    expect(bCampaign.received.filter((r) => JSON.stringify(r).includes(mark))).toEqual([]);
  });
});
