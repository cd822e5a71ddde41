import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCommandServer } from '../../../src/api/commands/natsCommandServer.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { uniquePrefix } from '../../support/nats.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let server: NatsCommandServer;
let ws: SeededWorkspace;
const prefix = uniquePrefix('contactsnats');

beforeAll(async () => {
  env = await useApiTestEnv('contactsnats');
  // The real catalog (no command list passed): CreateContact is registered through src/api/commands/index.ts.
  server = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() });
  server.start();
  ws = await seedWorkspace(env.db);
});
afterAll(() => server.stop());

async function request(name: string, body: unknown) {
  const headers = natsHeaders();
  headers.set('Authorization', `Bearer ${ws.keys.service.key}`);
  const reply = await env.nats.request(`${prefix}.commands.${name}`, JSON.stringify(body), { timeout: 5_000, headers });
  return reply.json<{ ok: boolean; result?: Record<string, unknown>; error?: { code: string; details?: Record<string, unknown> } }>();
}

describe('contacts over NATS request/reply', () => {
  it('CreateContact creates once, then returns the existing contact', async () => {
    const contactId = contactIdFor(ws.workspaceId, 'lin@example.com');
    const input = { email: 'Lin@Example.com', attributes: { score: { type: 'number', value: 3 } }, tags: ['nats'] };
    const first = await request('CreateContact', { commandId: randomUUID(), input });
    expect(first).toMatchObject({ ok: true, result: { streamId: contactStreamId(contactId), revision: 0, duplicate: false, data: { contactId, created: true } } });
    expect(typeof first.result!.position).toBe('string');
    const second = await request('CreateContact', { commandId: randomUUID(), input: { email: 'lin@example.com' } });
    expect(second).toMatchObject({ ok: true, result: { position: null, data: { contactId, created: false } } });
    const tagged = await request('TagContact', { input: { contactId, tags: ['more'] } });
    expect(tagged).toMatchObject({ ok: true, result: { revision: 1, data: { contactId } } });
  });

  it('rejects an unknown attribute type naming the field, writing nothing', async () => {
    const reply = await request('CreateContact', { input: { email: 'bad@example.com', attributes: { birthday: { type: 'datetime', value: '2000-01-01' } } } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'input.attributes.birthday.type' } } });
    expect((await env.eventStore.readStream(contactStreamId(contactIdFor(ws.workspaceId, 'bad@example.com')))).status).toBe('not_found');
  });
});
