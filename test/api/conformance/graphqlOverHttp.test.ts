/**
 * The GraphQL-over-HTTP conformance audit of the graphql-http package against the real server over real HTTP
 * (an authenticated client: every request carries a valid API key). Every MUST item has to pass.
 */
import type { FastifyInstance } from 'fastify';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { seedWorkspace, useApiTestEnv } from '../support.js';

let app: FastifyInstance;
let url: string;
let key: string;

beforeAll(async () => {
  const env = await useApiTestEnv('conformance');
  app = await buildServer(env.deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/graphql`;
  key = (await seedWorkspace(env.db)).keys.auditor.key;
});
afterAll(() => app.close());

const authenticatedFetch = (input: string | URL | Request, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP conformance (graphql-http audit)', () => {
  for (const audit of serverAudits({ url: () => url, fetchFn: authenticatedFetch })) {
    const must = audit.name.startsWith('MUST');
    it(audit.name, async () => {
      const result = await audit.fn();
      if (must) expect(result.status === 'ok' ? 'ok' : `${result.status}: ${result.reason}`).toBe('ok');
      else if (result.status !== 'ok') expect(['warn', 'notice']).toContain(result.status);
    });
  }
});
