import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCommandServer } from '../../../src/api/commands/natsCommandServer.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { uniquePrefix } from '../../support/nats.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let server: NatsCommandServer;
let ws: SeededWorkspace;
const prefix = uniquePrefix('segnats');

beforeAll(async () => {
  env = await useApiTestEnv('segments_nats');
  server = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() });
  server.start();
  ws = await seedWorkspace(env.db);
});
afterAll(() => server.stop());

async function request(name: string, body: unknown, key: string) {
  const headers = natsHeaders();
  headers.set('Authorization', `Bearer ${key}`);
  const reply = await env.nats.request(`${prefix}.commands.${name}`, JSON.stringify(body), { timeout: 5_000, headers });
  return reply.json<{ ok: boolean; result?: Record<string, unknown>; error?: { code: string; details?: Record<string, unknown> } }>();
}

describe('segment commands over NATS request/reply', () => {
  it('defines, renames and deletes a segment with the same payloads as GraphQL', async () => {
    const segmentId = randomUUID();
    const defined = await request('DefineSegment', { commandId: randomUUID(), input: { segmentId, name: 'VIP', rules: { tag: 'vip' } } }, ws.keys.service.key);
    expect(defined).toMatchObject({ ok: true, result: { streamId: `segment-${segmentId}`, revision: 0, data: { segmentId } } });
    const renamed = await request('RenameSegment', { input: { segmentId, name: 'VIPs' } }, ws.keys.service.key);
    expect(renamed).toMatchObject({ ok: true, result: { revision: 1 } });
    const deleted = await request('DeleteSegment', { input: { segmentId } }, ws.keys.service.key);
    expect(deleted).toMatchObject({ ok: true, result: { revision: 2 } });
  });

  it('answers bad rules with BAD_USER_INPUT and the path', async () => {
    const reply = await request('DefineSegment', { input: { name: 'Bad', rules: { not: { suppressed: 'no' } } } }, ws.keys.service.key);
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'rules.not.suppressed' } } });
  });
});
