import type { FastifyInstance } from 'fastify';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../src/api/iam/apiKeys.js';
import { buildServer, type ServerDeps } from '../../src/api/server.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { createPool } from '../../src/infra/postgres.js';
import { TEST_NATS_URL } from '../support/nats.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from './support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let ws: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('api_server');
  app = await buildServer(env.deps);
  ws = await seedWorkspace(env.db);
});
afterAll(() => app.close());

/** Builds a second server on the same infrastructure with some deps replaced; closed after the test. */
async function withServer<T>(overrides: Partial<ServerDeps>, run: (server: FastifyInstance) => Promise<T>): Promise<T> {
  const server = await buildServer({ ...env.deps, ...overrides });
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

describe('health and readiness', () => {
  it('GET /health answers ok without a key', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET /ready checks Postgres, NATS and the event store', async () => {
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ready',
      checks: { postgres: { ok: true }, nats: { ok: true }, eventStore: { ok: true } },
    });
  });

  it('is not ready, naming NATS, when the NATS connection is closed', async () => {
    const closed = await connect({ servers: TEST_NATS_URL, name: 'api-ready-closed' });
    await closed.close();
    const response = await withServer({ nats: closed }, (server) => server.inject({ method: 'GET', url: '/ready' }));
    expect(response.statusCode).toBe(503);
    const body = response.json();
    expect(body.status).toBe('not_ready');
    expect(body.checks.nats).toEqual({ ok: false, error: expect.stringMatching(/closed/i) });
    expect(body.checks.postgres).toEqual({ ok: true });
  });

  it('is not ready when a registered readiness check throws', async () => {
    const readinessChecks = [
      { name: 'projections', check: async () => Promise.reject(new Error('projection campaigns is 5000 events behind')) },
    ];
    const response = await withServer({ readinessChecks }, (server) => server.inject({ method: 'GET', url: '/ready' }));
    expect(response.statusCode).toBe(503);
    expect(response.json().checks.projections).toEqual({ ok: false, error: 'projection campaigns is 5000 events behind' });
  });

  it('is not ready, naming the event store, when its database is gone', async () => {
    const endedPool = createPool({ connectionString: env.url, max: 1 });
    await endedPool.end();
    const eventStore = createPostgresEventStore({ pool: endedPool });
    try {
      const response = await withServer({ eventStore }, (server) => server.inject({ method: 'GET', url: '/ready' }));
      expect(response.statusCode).toBe(503);
      expect(response.json().checks.eventStore.ok).toBe(false);
    } finally {
      await eventStore.close();
    }
  });
});

describe('authentication', () => {
  const me = '{ me { apiKeyId } }';

  it('refuses GraphQL without a key: 401, UNAUTHENTICATED', async () => {
    const response = await gql(app, undefined, me);
    expect(response.statusCode).toBe(401);
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
  });

  it.each([
    ['a malformed key', 'not-a-key'],
    ['an unknown key', `mk_${'A'.repeat(43)}`],
  ])('refuses %s', async (_label, key) => {
    const response = await gql(app, key, me);
    expect(response.statusCode).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a non-Bearer authorization header', async () => {
    const response = await gql(app, undefined, me, {}, { authorization: `Basic ${ws.keys.admin.key}` });
    expect(response.statusCode).toBe(401);
  });

  it('refuses a key on the request right after it is revoked', async () => {
    const other = await seedWorkspace(env.db);
    expect((await gql(app, other.keys.service.key, me)).statusCode).toBe(200);
    await revokeApiKey(env.db, { workspaceId: other.workspaceId, id: other.keys.service.id, revokedBy: 'test' });
    const response = await gql(app, other.keys.service.key, me);
    expect(response.statusCode).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers other routes without a key with a JSON 401', async () => {
    const response = await app.inject({ method: 'GET', url: '/no-such-route' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String), retryable: false } });
  });

  it('answers an unknown route with a key with a JSON 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/no-such-route', headers: { authorization: `Bearer ${ws.keys.auditor.key}` } });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('NOT_FOUND');
  });
});

describe('correlation id', () => {
  it('echoes a sane x-correlation-id', async () => {
    const response = await app.inject({ method: 'GET', url: '/health', headers: { 'x-correlation-id': 'req-42.abc:1' } });
    expect(response.headers['x-correlation-id']).toBe('req-42.abc:1');
  });

  it.each([
    ['too long', 'a'.repeat(101)],
    ['with unsafe characters', 'abc def<script>'],
    ['empty', ''],
  ])('generates a uuid when the header is %s', async (_label, value) => {
    const response = await app.inject({ method: 'GET', url: '/health', headers: { 'x-correlation-id': value } });
    expect(response.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('generates a uuid when there is none, also on refused requests', async () => {
    const health = await app.inject({ method: 'GET', url: '/health' });
    const refused = await gql(app, undefined, '{ me { role } }');
    expect(health.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(refused.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(refused.headers['x-correlation-id']).not.toBe(health.headers['x-correlation-id']);
  });
});

describe('limits', () => {
  it('refuses a body over 1 MiB with 413 and a JSON error', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { authorization: `Bearer ${ws.keys.admin.key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ query: '{ me { role } }', variables: { padding: 'x'.repeat(1024 * 1024) } }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    expect(response.json().errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it.each([
    ['malformed JSON', 'application/json', '{"query": ', 400, 'BAD_USER_INPUT'],
    ['an unsupported media type', 'application/xml', '<query/>', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('refuses %s with a client error, not INTERNAL', async (_label, contentType, payload, status, code) => {
    const response = await app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { authorization: `Bearer ${ws.keys.admin.key}`, 'content-type': contentType },
      payload,
    });
    expect(response.statusCode).toBe(status);
    expect(response.json().errors[0].extensions.code).toBe(code);
  });

  it('accepts a body just under 1 MiB', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { authorization: `Bearer ${ws.keys.admin.key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ query: '{ me { role } }', variables: { padding: 'x'.repeat(1000 * 1000) } }),
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('GraphiQL', () => {
  it('is served without a key outside production', async () => {
    const response = await app.inject({ method: 'GET', url: '/graphiql' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
  });

  it('is not served in production', async () => {
    const config = { ...env.config, nodeEnv: 'production', trackingSecret: 'a-production-secret-of-at-least-32-characters' };
    const response = await withServer({ config }, (server) =>
      server.inject({ method: 'GET', url: '/graphiql', headers: { authorization: `Bearer ${ws.keys.admin.key}` } }),
    );
    expect(response.statusCode).toBe(404);
  });
});
