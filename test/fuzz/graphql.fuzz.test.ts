import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { GraphQLObjectType, GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/infra/config.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { argumentsArbitrary, operationFor } from './graphqlInputs.js';
import { mutationNames, queryNames, sdlSchema } from './schemaFields.js';
import { eventCount, expectNoLeak, expectTypedCode, fuzzParams, junk } from './support.js';

/**
 * Every mutation (and every query) of the schema, found by introspecting the built schema so that new fields
 * are fuzzed without touching this file, gets generated variables: the right shape with hostile leaves, wrong
 * types, nulls, huge and odd strings, nested junk. Whatever comes in: no 5xx, every error carries a known code
 * other than INTERNAL, nothing internal leaks, and a refused mutation leaves the event store as it was.
 */

const env = await useApiTestEnv('fuzz_graphql');
let app: FastifyInstance;
let ws: SeededWorkspace;
// The SDL the server is built from, parsed by this module's graphql (mercurius' copy is another realm).
const schema: GraphQLSchema = sdlSchema;
const ids: string[] = [];

beforeAll(async () => {
  // The fuzzer sends a few thousand requests with one key: rate limits are tested elsewhere.
  app = await buildServer({ ...env.deps, config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: env.url, LOG_LEVEL: 'silent', RATE_LIMIT: 'off' }) });
  ws = await seedWorkspace(env.db);
  const admin = ws.keys.admin.key;
  const made = async (query: string, input: Record<string, unknown>, pick: (data: Record<string, any>) => string) => { // eslint-disable-line @typescript-eslint/no-explicit-any -- response shapes vary
    const response = await gql(app, admin, query, { input });
    expect(response.body.errors).toBeUndefined();
    ids.push(pick(response.body.data!));
  };
  await made('mutation($input: CreateContactInput!) { createContact(input: $input) { contactId } }', { email: 'fuzz@example.com' }, (d) => d.createContact.contactId);
  await made('mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { templateId } }', { name: 'T', subject: 'Hi {{ contact.email }}', html: '<p>x</p>' }, (d) => d.createTemplate.templateId);
  await made('mutation($input: DefineSegmentInput!) { defineSegment(input: $input) { segmentId } }', { name: 'S', rules: { all: [{ tag: 'vip' }] } }, (d) => d.defineSegment.segmentId);
  await made(
    'mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaignId } }',
    { name: 'C', sender: { email: 'news@shop.example', name: 'Shop' }, segmentId: ids[2], templateId: ids[1], topic: 'newsletter' },
    (d) => d.createCampaign.campaignId,
  );
  ids.push(ws.keys.auditor.id);
});
afterAll(() => app.close());

const fieldsOf = (type: GraphQLObjectType | null | undefined) => Object.values(type?.getFields() ?? {});

/** One request with generated variables; returns whether it was refused (any error). */
async function check(kind: 'query' | 'mutation', name: string, variables: Record<string, unknown>, key: string): Promise<void> {
  const field = (kind === 'mutation' ? schema.getMutationType() : schema.getQueryType())!.getFields()[name]!;
  const before = kind === 'mutation' ? await eventCount(env.db) : 0;
  const response = await gql(app, key, operationFor(kind, field), variables);
  const context = `${name}(${JSON.stringify(variables).slice(0, 300)})`;
  const raw = JSON.stringify(response.body);
  expect(response.statusCode, `${context}: ${raw.slice(0, 500)}`).toBeLessThan(500);
  expectNoLeak(raw, context);
  if (process.env.FUZZ_STATS !== undefined) process.stderr.write(`STAT ${name} ${response.body.errors?.[0]?.extensions?.code ?? 'OK'} ${String(response.body.errors?.[0]?.message).slice(0, 120)}\n`);
  for (const error of response.body.errors ?? []) expectTypedCode(error.extensions?.code, `${context}: ${error.message.slice(0, 200)}`);
  if (kind === 'mutation' && response.body.errors !== undefined) {
    expect(await eventCount(env.db), `${context}: a refused mutation appended events`).toBe(before);
  }
}

describe('every mutation, with generated variables', () => {
  it('the schema has mutations to fuzz', () => {
    expect(fieldsOf(schema.getMutationType()).length).toBeGreaterThan(20);
  });

  // Discovered at collection time from the SDL the server is built from, so a new mutation is covered automatically.
  it.each(mutationNames)('%s: a typed error or a result, never a 5xx, a leak or a partial write', async (name) => {
    const field = schema.getMutationType()!.getFields()[name]!;
    await fc.assert(
      fc.asyncProperty(argumentsArbitrary(field, ids), async (variables) => check('mutation', name, variables, ws.keys.admin.key)),
      fuzzParams(20),
    );
  });

  it.each(queryNames)('query %s: a typed error or a result, never a 5xx or a leak', async (name) => {
    const field = schema.getQueryType()!.getFields()[name]!;
    await fc.assert(
      fc.asyncProperty(argumentsArbitrary(field, ids), async (variables) => check('query', name, variables, ws.keys.admin.key)),
      fuzzParams(6),
    );
  });
});

describe('the request itself', () => {
  it('a query document that is garbage, or almost GraphQL, is a 4xx with a typed code', async () => {
    const almost = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(fc.constantFrom('{', '}', '(', ')', 'query', 'mutation', 'subscription', 'me', 'role', '...', 'on', '$x', ':', 'Int', '!', '"', '#', '@skip', 'fragment', 'f', '__schema', '__typename'), { maxLength: 40 }).map((t) => t.join(' ')),
    );
    await fc.assert(
      fc.asyncProperty(almost, junk, async (query, variables) => {
        const response = await app.inject({ method: 'POST', url: '/graphql', headers: { authorization: `Bearer ${ws.keys.admin.key}` }, payload: { query, variables } });
        const raw = response.body;
        expect(response.statusCode, raw.slice(0, 300)).toBeLessThan(500);
        expectNoLeak(raw, query);
        for (const error of response.json().errors ?? []) expectTypedCode(error.extensions?.code, `${query}: ${error.message}`);
      }),
      fuzzParams(150),
    );
  });

  it('a body that is not JSON, or JSON of the wrong shape, is a 4xx with a typed code', async () => {
    const body = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), junk.map((j) => JSON.stringify(j) ?? 'undefined'));
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'text/plain', 'application/graphql', 'application/x-www-form-urlencoded'), async (payload, contentType) => {
        const response = await app.inject({ method: 'POST', url: '/graphql', headers: { authorization: `Bearer ${ws.keys.admin.key}`, 'content-type': contentType }, payload });
        expect(response.statusCode, response.body.slice(0, 300)).toBeLessThan(500);
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expectNoLeak(response.body, payload);
      }),
      fuzzParams(150),
    );
  });

  // Regression (found by this fuzzer): mercurius read a query that is not GraphQL text as a JSON-encoded AST;
  // `null` as the document (application/graphql body "null") crashed validation with a 500.
  it('a query that is JSON instead of GraphQL text is BAD_USER_INPUT, never an AST', async () => {
    const post = (payload: string, contentType: string) =>
      app.inject({ method: 'POST', url: '/graphql', headers: { authorization: `Bearer ${ws.keys.admin.key}`, 'content-type': contentType }, payload });
    for (const response of [
      await post('null', 'application/graphql'),
      await post('{"kind":"Document","definitions":[]}', 'application/graphql'),
      await post(JSON.stringify({ query: { kind: 'Document', definitions: [] } }), 'application/json'),
      await app.inject({ method: 'GET', url: '/graphql?query=null', headers: { authorization: `Bearer ${ws.keys.admin.key}` } }),
    ]) {
      expect(response.statusCode).toBe(400);
      expect(response.json().errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    }
    expect((await post('{ me { role } }', 'application/graphql')).json()).toEqual({ data: { me: { role: 'ADMIN' } } });
  });

  // Regression (found by this fuzzer): a NUL (or an unpaired surrogate) in any string reached PostgreSQL, which
  // cannot store it in text or jsonb: createTemplate answered INTERNAL, list filters failed the same way.
  it('text PostgreSQL cannot store is BAD_USER_INPUT naming the variable, with nothing written', async () => {
    const before = await eventCount(env.db);
    const create = 'mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { templateId } }';
    const viaVariable = await gql(app, ws.keys.admin.key, create, { input: { name: 'N', subject: 's', html: '<p>x</p>', text: 'a\u0000b' } });
    expect(viaVariable.statusCode).toBe(400);
    expect(viaVariable.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.text' });
    const surrogate = await gql(app, ws.keys.admin.key, create, { input: { name: 'N\ud800', subject: 's', html: '<p>x</p>' } });
    expect(surrogate.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
    const inline = await gql(app, ws.keys.admin.key, 'mutation { createTemplate(input: { name: "N\\u0000", subject: "s", html: "x" }) { templateId } }');
    expect(inline.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    const viaGet = await app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('query($f: ContactFilter) { contacts(first: 1, filter: $f) { __typename } }')}&variables=${encodeURIComponent(JSON.stringify({ f: { email: 'a\u0000' } }))}`, headers: { authorization: `Bearer ${ws.keys.admin.key}` } });
    expect(viaGet.statusCode).toBe(400);
    expect(await eventCount(env.db)).toBe(before);
  });

  // Regression (found by this fuzzer): a negative consistentWith waited 5 s and then answered READ_MODEL_BEHIND;
  // 0 waited as well on a read model that had not applied anything yet.
  it('consistentWith: negative is BAD_USER_INPUT at once, 0 needs no wait', async () => {
    const negative = await gql(app, ws.keys.admin.key, 'query($p: BigInt) { templates(first: 1, consistentWith: $p) { __typename } }', { p: '-1' });
    expect(negative.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'consistentWith' });
    const zero = await gql(app, ws.keys.admin.key, 'query($p: BigInt) { templates(first: 1, consistentWith: $p) { __typename } }', { p: '0' });
    expect(zero.body.errors).toBeUndefined();
  });
});
