import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import type { Database } from '../../src/projections/db/schema.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from './support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let logger: Logger;
let a: SeededWorkspace;
let b: SeededWorkspace;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  env = await useApiTestEnv('api_graphql');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  logger = pino({ level: 'debug' }, sink);
  app = await buildServer({ ...env.deps, logger });
  a = await seedWorkspace(env.db, 'Acme');
  b = await seedWorkspace(env.db, 'Bolt');
});
afterAll(() => app.close());

const ISSUE = /* GraphQL */ `
  mutation Issue($input: IssueApiKeyInput!) {
    issueApiKey(input: $input) { key apiKey { id name role keyPrefix createdBy createdAt revokedAt } }
  }
`;
const REVOKE = /* GraphQL */ `
  mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }
`;
const KEYS = /* GraphQL */ `
  query Keys($first: Int, $after: String) {
    apiKeys(first: $first, after: $after) { edges { cursor node { id name role revokedAt } } pageInfo { hasNextPage endCursor } }
  }
`;

describe('queries', () => {
  it('me and workspace describe the caller', async () => {
    const response = await gql(app, a.keys.auditor.key, '{ me { workspaceId apiKeyId role actor } workspace { id name createdAt } }');
    expect(response.statusCode).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({
      me: { workspaceId: a.workspaceId, apiKeyId: a.keys.auditor.id, role: 'AUDITOR', actor: `apikey:${a.keys.auditor.id}` },
      workspace: { id: a.workspaceId, name: 'Acme', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) },
    });
  });

  it('apiKeys pages through the workspace’s keys only', async () => {
    const first = await gql(app, a.keys.admin.key, KEYS, { first: 3 });
    expect(first.body.errors).toBeUndefined();
    const page1 = first.body.data?.apiKeys;
    expect(page1.edges).toHaveLength(3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await gql(app, a.keys.admin.key, KEYS, { first: 3, after: page1.pageInfo.endCursor });
    const page2 = second.body.data?.apiKeys;
    const ids = [...page1.edges, ...page2.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(Object.values(a.keys).map((k) => k.id)));
    expect(ids).not.toEqual(expect.arrayContaining([b.keys.admin.id]));
  });

  it('rejects a bad cursor and page size as BAD_USER_INPUT naming the argument', async () => {
    const badCursor = await gql(app, a.keys.admin.key, KEYS, { after: 'nonsense' });
    expect(badCursor.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const badFirst = await gql(app, a.keys.admin.key, KEYS, { first: 1000 });
    expect(badFirst.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('rejects an invalid document with 400 BAD_USER_INPUT', async () => {
    const response = await gql(app, a.keys.admin.key, '{ me { noSuchField } }');
    expect(response.statusCode).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toMatch(/noSuchField/);
  });
});

describe('roles', () => {
  it('an auditor cannot issue a key: FORBIDDEN', async () => {
    const response = await gql(app, a.keys.auditor.key, ISSUE, { input: { name: 'x', role: 'MARKETER' } });
    expect(response.statusCode).toBe(200);
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]).toMatchObject({ path: ['issueApiKey'], extensions: { code: 'FORBIDDEN', retryable: false } });
  });

  it.each(['marketer', 'service', 'auditor'] as const)('a %s cannot list keys', async (role) => {
    const response = await gql(app, a.keys[role].key, KEYS);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a marketer cannot revoke a key', async () => {
    const response = await gql(app, a.keys.marketer.key, REVOKE, { id: a.keys.auditor.id });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('workspace isolation', () => {
  it('an admin of B cannot revoke a key of A: NOT_FOUND, and the key keeps working', async () => {
    const response = await gql(app, b.keys.admin.key, REVOKE, { id: a.keys.marketer.id });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gql(app, a.keys.marketer.key, '{ me { role } }')).statusCode).toBe(200);
  });

  it('an admin of B sees only B', async () => {
    const response = await gql(app, b.keys.admin.key, '{ workspace { id } apiKeys(first: 100) { edges { node { id } } } }');
    expect(response.body.data?.workspace.id).toBe(b.workspaceId);
    const ids = response.body.data?.apiKeys.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids.sort()).toEqual(Object.values(b.keys).map((k) => k.id).sort());
  });
});

describe('issue and revoke', () => {
  it('issues a key that works, and revokes it', async () => {
    const issued = await gql(app, a.keys.admin.key, ISSUE, { input: { name: '  CI deploys  ', role: 'SERVICE' } });
    expect(issued.body.errors).toBeUndefined();
    const { key, apiKey } = issued.body.data?.issueApiKey;
    expect(key).toMatch(/^mk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: 'CI deploys', role: 'SERVICE', keyPrefix: key.slice(0, 10), createdBy: `apikey:${a.keys.admin.id}`, revokedAt: null });

    const me = await gql(app, key, '{ me { apiKeyId role workspaceId } }');
    expect(me.body.data?.me).toEqual({ apiKeyId: apiKey.id, role: 'SERVICE', workspaceId: a.workspaceId });

    const revoked = await gql(app, a.keys.admin.key, REVOKE, { id: apiKey.id });
    expect(revoked.body.data?.revokeApiKey).toEqual({ id: apiKey.id, revokedAt: expect.any(String) });
    expect((await gql(app, key, '{ me { role } }')).statusCode).toBe(401);

    const again = await gql(app, a.keys.admin.key, REVOKE, { id: apiKey.id });
    expect(again.body.data?.revokeApiKey.revokedAt).toBe(revoked.body.data?.revokeApiKey.revokedAt);
  });

  it('rejects an empty name with BAD_USER_INPUT naming the field', async () => {
    const response = await gql(app, a.keys.admin.key, ISSUE, { input: { name: '   ', role: 'MARKETER' } });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  });

  it('rejects an unknown role before execution', async () => {
    const response = await gql(app, a.keys.admin.key, ISSUE, { input: { name: 'x', role: 'ROOT' } });
    expect(response.statusCode).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('logs with the request’s correlation id and actor', async () => {
    await gql(app, a.keys.admin.key, ISSUE, { input: { name: 'logged', role: 'AUDITOR' } }, { 'x-correlation-id': 'corr-issue-1' });
    const line = logLines.find((l) => l.msg === 'API key issued' && l.correlationId === 'corr-issue-1');
    expect(line).toMatchObject({ actor: `apikey:${a.keys.admin.id}`, workspaceId: a.workspaceId });
  });
});

describe('unexpected failures', () => {
  it('answer INTERNAL without leaking the cause, and log it', async () => {
    const deadPool = createPool({ connectionString: env.url, max: 1 });
    await deadPool.end();
    const server = await buildServer({ ...env.deps, db: createKysely<Database>(deadPool), logger });
    try {
      const response = await gql(server, a.keys.admin.key, '{ me { role } }', {}, { 'x-correlation-id': 'corr-internal-1' });
      expect(response.statusCode).toBe(500);
      expect(response.body.errors?.[0]).toEqual({ message: 'Internal server error.', extensions: { code: 'INTERNAL', retryable: false } });
      expect(JSON.stringify(response.body)).not.toMatch(/pool/i);
      const logged = logLines.find((l) => l.correlationId === 'corr-internal-1' && l.level === 50);
      expect(JSON.stringify(logged)).toMatch(/pool/i);
    } finally {
      await server.close();
    }
  });
});

describe('over real HTTP', () => {
  it('answers an authenticated query', async () => {
    const server = await buildServer(env.deps);
    try {
      await server.listen({ port: 0, host: '127.0.0.1' });
      const address = server.server.address();
      if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
      const response = await fetch(`http://127.0.0.1:${address.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${a.keys.marketer.key}`, 'x-correlation-id': 'http-1' },
        body: JSON.stringify({ query: '{ me { role workspaceId } }' }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-correlation-id')).toBe('http-1');
      expect(await response.json()).toEqual({ data: { me: { role: 'MARKETER', workspaceId: a.workspaceId } } });
    } finally {
      await server.close();
    }
  });
});
