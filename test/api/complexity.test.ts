import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from './support.js';

let app: FastifyInstance;
let ws: SeededWorkspace;

beforeAll(async () => {
  const env = await useApiTestEnv('complexity');
  app = await buildServer(env.deps);
  ws = await seedWorkspace(env.db);
});
afterAll(() => app.close());

describe('query limits', () => {
  it('accepts an ordinary page', async () => {
    const response = await gql(app, ws.keys.auditor.key, '{ activity(first: 100) { edges { node { eventType actor } } } }');
    expect(response.body.errors).toBeUndefined();
  });

  it('refuses a query whose cost is over the limit, also through variables and fragments, before running it', async () => {
    const fields = Array.from({ length: 60 }, (_, i) => `f${i}: eventType`).join(' ');
    const query = `query($n: Int) { activity(first: $n) { edges { node { ...F } } } } fragment F on ActivityEvent { ${fields} }`;
    const response = await gql(app, ws.keys.auditor.key, query, { n: 100 });
    expect(response.statusCode).toBe(400);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    expect(response.body.errors?.[0]?.message).toMatch(/cost \d+; the limit is 5000/);
  });

  it('refuses a query deeper than the depth limit with QUERY_TOO_COMPLEX', async () => {
    let nested = 'name';
    for (let i = 0; i < 14; i++) nested = `ofType { ${nested} }`;
    const response = await gql(app, ws.keys.auditor.key, `{ __schema { types { fields { type { ${nested} } } } } }`);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
  });
});
