import { expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { useApiTestEnv } from '../support.js';

const env = await useApiTestEnv('tracking_registration');

it('buildServer serves tracking (public) and the bounce webhook (needs a key)', async () => {
  const app = await buildServer(env.deps);
  await app.ready();
  try {
    const forged = await app.inject({ method: 'GET', url: '/t/o/not-a-token' });
    expect(forged.statusCode).toBe(404);
    expect(forged.json().error.code).toBe('NOT_FOUND');
    expect((await app.inject({ method: 'POST', url: '/webhooks/bounces', payload: {} })).statusCode).toBe(401);
  } finally {
    await app.close();
  }
});
