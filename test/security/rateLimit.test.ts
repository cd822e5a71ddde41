import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/infra/config.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { serversWithConfig } from './servers.js';

const env = await useApiTestEnv('ratelimit');
const { configWith: limited, serverWith: appWith } = serversWithConfig(env);

let ws: SeededWorkspace;
beforeAll(async () => {
  ws = await seedWorkspace(env.db);
});

const ME = '{ me { role } }';

describe('per API key', () => {
  it('throttles key A with 429 RATE_LIMITED and Retry-After, while key B of the same workspace still works', async () => {
    const app = await appWith({ RATE_LIMIT_API_PER_MINUTE: '5' });
    for (let i = 0; i < 5; i++) expect((await gql(app, ws.keys.marketer.key, ME)).statusCode).toBe(200);
    const refused = await gql(app, ws.keys.marketer.key, ME);
    expect(refused.statusCode).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(JSON.stringify(refused.body)).not.toMatch(/at .*\.(ts|js):\d+/);
    const other = await gql(app, ws.keys.auditor.key, ME);
    expect(other.statusCode).toBe(200);
    expect(other.body.data?.me).toEqual({ role: 'AUDITOR' });
  });

  it('counts GET and POST /graphql together', async () => {
    const app = await appWith({ RATE_LIMIT_API_PER_MINUTE: '2' });
    const key = ws.keys.service.key;
    const get = () => app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent(ME)}`, headers: { authorization: `Bearer ${key}` } });
    expect((await get()).statusCode).toBe(200);
    expect((await gql(app, key, ME)).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(429);
  });

  it('never limits /health, /ready and /metrics', async () => {
    const app = await appWith({ RATE_LIMIT_API_PER_MINUTE: '1', RATE_LIMIT_TRACKING_PER_MINUTE: '1', RATE_LIMIT_WEBHOOK_PER_MINUTE: '1' });
    for (let i = 0; i < 5; i++) {
      for (const url of ['/health', '/ready', '/metrics']) expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    }
  });

  it('limits the bounce webhook per key, apart from GraphQL', async () => {
    const app = await appWith({ RATE_LIMIT_API_PER_MINUTE: '1', RATE_LIMIT_WEBHOOK_PER_MINUTE: '2' });
    const key = ws.keys.admin.key;
    const post = () => app.inject({ method: 'POST', url: '/webhooks/bounces', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: '{}' });
    expect((await gql(app, key, ME)).statusCode).toBe(200);
    expect((await post()).statusCode).toBe(400);
    expect((await post()).statusCode).toBe(400);
    const refused = await post();
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(refused.headers['retry-after']).toBeDefined();
  });
});

describe('per client IP on tracking links', () => {
  it('has its own limit, counted over all tracking routes', async () => {
    const app = await appWith({ RATE_LIMIT_TRACKING_PER_MINUTE: '3', RATE_LIMIT_API_PER_MINUTE: '100' });
    expect((await app.inject({ method: 'GET', url: '/t/o/abc.def' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/t/c/abc.def' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/t/u/abc.def' })).statusCode).toBe(404);
    const refused = await app.inject({ method: 'GET', url: '/t/o/abc.def' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMITED');
    const other = await app.inject({ method: 'GET', url: '/t/o/abc.def', remoteAddress: '10.9.8.7' });
    expect(other.statusCode).toBe(404);
    expect((await gql(app, ws.keys.marketer.key, ME)).statusCode).toBe(200);
  });
});

describe('behind a reverse proxy', () => {
  it('with TRUST_PROXY the client address comes from X-Forwarded-For, so clients behind one proxy count apart', async () => {
    const app = await appWith({ RATE_LIMIT_TRACKING_PER_MINUTE: '1', TRUST_PROXY: '127.0.0.1' });
    const from = (client: string) => app.inject({ method: 'GET', url: '/t/o/abc.def', headers: { 'x-forwarded-for': client } });
    expect((await from('203.0.113.1')).statusCode).toBe(404);
    expect((await from('203.0.113.1')).statusCode).toBe(429);
    expect((await from('203.0.113.2')).statusCode).toBe(404);
    expect(() => limited({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
  });
});

describe('configuration', () => {
  it('RATE_LIMIT=off and a limit of 0 turn limits off', async () => {
    expect(limited({ RATE_LIMIT: 'off' }).rateLimits).toEqual({ apiPerMinute: null, webhookPerMinute: null, trackingPerMinute: null, authFailuresPerMinute: null });
    expect(limited({ RATE_LIMIT_TRACKING_PER_MINUTE: '0' }).rateLimits.trackingPerMinute).toBeNull();
    const app = await appWith({ RATE_LIMIT: 'off', RATE_LIMIT_API_PER_MINUTE: '1' });
    for (let i = 0; i < 3; i++) expect((await gql(app, ws.keys.marketer.key, ME)).statusCode).toBe(200);
  });

  it('has defaults and refuses nonsense naming the variable', () => {
    expect(limited({}).rateLimits).toEqual({ apiPerMinute: 1_200, webhookPerMinute: 600, trackingPerMinute: 6_000, authFailuresPerMinute: 60 });
    expect(() => limited({ RATE_LIMIT_API_PER_MINUTE: 'lots' })).toThrow(ConfigError);
    expect(() => limited({ RATE_LIMIT_API_PER_MINUTE: 'lots' })).toThrow(/RATE_LIMIT_API_PER_MINUTE/);
    expect(() => limited({ RATE_LIMIT: 'maybe' })).toThrow(/RATE_LIMIT /);
  });
});
