import { beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AuthFailureThrottle } from '../../src/api/iam/authFailures.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { subscribe } from '../support/graphqlWs.js';
import { serversWithConfig } from './servers.js';

const env = await useApiTestEnv('authfailures');
const { serverWith: appWith } = serversWithConfig(env);

let ws: SeededWorkspace;
beforeAll(async () => {
  ws = await seedWorkspace(env.db);
});

const ME = '{ me { role } }';
const FORGED = `mk_${'0'.repeat(40)}`;
const from = (app: FastifyInstance, ip: string, authorization: string | undefined) =>
  app.inject({ method: 'POST', url: '/graphql', remoteAddress: ip, headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) }, payload: JSON.stringify({ query: ME }) });

describe('failed authentications per client IP', () => {
  it('refuses an address after its limit of failures, even with a good key, and leaves other addresses alone', async () => {
    const app = await appWith({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' });
    expect((await from(app, '10.0.0.1', `Bearer ${FORGED}`)).statusCode).toBe(401);
    expect((await from(app, '10.0.0.1', 'Bearer not-a-key')).statusCode).toBe(401);
    expect((await from(app, '10.0.0.1', undefined)).statusCode).toBe(401);

    const refused = await from(app, '10.0.0.1', `Bearer ${ws.keys.admin.key}`);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ errors: [{ extensions: { code: 'RATE_LIMITED', retryable: true } }] });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const neighbour = await from(app, '10.0.0.2', `Bearer ${ws.keys.admin.key}`);
    expect(neighbour.statusCode).toBe(200);
    expect(neighbour.json()).toEqual({ data: { me: { role: 'ADMIN' } } });
  });

  it('does not count successful requests', async () => {
    const app = await appWith({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2' });
    expect((await from(app, '10.0.1.1', `Bearer ${FORGED}`)).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) expect((await gql(app, ws.keys.marketer.key, ME)).statusCode).toBe(200);
    expect((await from(app, '10.0.1.1', `Bearer ${ws.keys.marketer.key}`)).statusCode).toBe(200);
  });

  it('is off with 0 or RATE_LIMIT=off', async () => {
    const off: Record<string, string>[] = [{ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0' }, { RATE_LIMIT: 'off' }];
    for (const extra of off) {
      const app = await appWith(extra);
      for (let i = 0; i < 5; i++) expect((await from(app, '10.0.2.1', `Bearer ${FORGED}`)).statusCode).toBe(401);
      expect((await from(app, '10.0.2.1', `Bearer ${ws.keys.admin.key}`)).statusCode).toBe(200);
    }
  });

  it('counts a bad key in a WebSocket connection_init, and then refuses the upgrade', async () => {
    const app = await appWith({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const url = `ws://127.0.0.1:${address.port}/graphql`;
    const query = 'subscription { activityAppended { streamId } }';
    for (let i = 0; i < 2; i++) await expect(subscribe(url, query, {}, { authorization: `Bearer ${FORGED}` })).rejects.toThrow(/closed/);
    await expect(subscribe(url, query, {}, { authorization: `Bearer ${ws.keys.admin.key}` })).rejects.toThrow(/429/);
  });
});

describe('AuthFailureThrottle', () => {
  it('forgets a client when its minute is over', () => {
    let now = 1_000_000;
    const throttle = new AuthFailureThrottle(2, () => now);
    throttle.recordFailure('a');
    expect(throttle.retryAfterSeconds('a')).toBeNull();
    throttle.recordFailure('a');
    expect(throttle.retryAfterSeconds('a')).toBe(60);
    now += 45_500;
    expect(throttle.retryAfterSeconds('a')).toBe(15);
    expect(throttle.retryAfterSeconds('b')).toBeNull();
    now += 14_500;
    expect(throttle.retryAfterSeconds('a')).toBeNull();
    throttle.recordFailure('a');
    expect(throttle.retryAfterSeconds('a')).toBeNull();
  });
});
