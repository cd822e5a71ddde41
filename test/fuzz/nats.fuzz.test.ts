import fc from 'fast-check';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/api/commands/index.js';
import { NatsCommandServer } from '../../src/api/commands/natsCommandServer.js';
import { silentLogger } from '../../src/infra/logger.js';
import { seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { uniquePrefix } from '../support/nats.js';
import { eventCount, expectTypedCode, fuzzParams, junk, nastyString } from './support.js';

/**
 * The NATS command API (`<prefix>.commands.<Name>`) under random bytes and JSON, for every command of the catalog
 * and names that are not commands: always a typed error reply, the server keeps serving, nothing is written for
 * a refused request.
 */

const env = await useApiTestEnv('fuzz_nats');
const prefix = uniquePrefix('fuzznats');
let server: NatsCommandServer;
let ws: SeededWorkspace;

beforeAll(async () => {
  server = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() });
  server.start();
  ws = await seedWorkspace(env.db);
});
afterAll(() => server.stop());

interface Reply {
  readonly ok: boolean;
  readonly error?: { code: string; message: string };
}

async function request(name: string, data: Uint8Array | string, authorization: string | null): Promise<Reply> {
  const headers = natsHeaders();
  if (authorization !== null) headers.set('Authorization', authorization);
  const message = await env.nats.request(`${prefix}.commands.${name}`, data, { timeout: 5_000, headers });
  return message.json<Reply>();
}

const commandNames = COMMANDS.map((c) => c.name);
const body = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 200 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
  { arbitrary: junk.map((j) => JSON.stringify(j) ?? ''), weight: 2 },
  { arbitrary: fc.record({ commandId: fc.oneof(nastyString, junk), input: junk }, { requiredKeys: [] }).map((b) => JSON.stringify(b)), weight: 4 },
  { arbitrary: fc.record({ input: fc.dictionary(fc.constantFrom('contactId', 'campaignId', 'segmentId', 'templateId', 'email', 'name', 'tags', 'rules', 'topic', 'html', 'subject'), fc.oneof(nastyString, junk), { maxKeys: 5 }) }).map((b) => JSON.stringify(b)), weight: 4 },
);

describe('NATS command payloads', () => {
  it('every command, random payloads: a typed error reply, nothing written when refused', async () => {
    const admin = `Bearer ${ws.keys.admin.key}`;
    const authorization = fc.oneof({ arbitrary: fc.constant(admin), weight: 8 }, { arbitrary: fc.constant(null), weight: 1 }, { arbitrary: nastyString.map((s) => `Bearer ${s.replace(/[\r\n]/g, '')}`), weight: 1 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...commandNames), body, authorization, async (name, data, auth) => {
        const before = await eventCount(env.db);
        const reply = await request(name, data, auth);
        const context = `${name} ${typeof data === 'string' ? data.slice(0, 200) : `bytes(${data.length})`}`;
        if (reply.ok) return;
        expectTypedCode(reply.error?.code, `${context}: ${reply.error?.message}`);
        expect(await eventCount(env.db), `${context}: refused but appended`).toBe(before);
      }),
      fuzzParams(250),
    );
  });

  it('subjects that are not commands answer NOT_FOUND', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/), body, async (name, data) => {
        fc.pre(!commandNames.includes(name));
        const reply = await request(name, data, `Bearer ${ws.keys.admin.key}`);
        expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      }),
      fuzzParams(50),
    );
  });

  // Regression (found by the GraphQL fuzzer, same defect here): text PostgreSQL cannot store reached the store.
  it('a NUL or unpaired surrogate anywhere in the body is BAD_USER_INPUT naming the field', async () => {
    const before = await eventCount(env.db);
    const reply = await request('CreateTemplate', JSON.stringify({ input: { name: 'N', subject: 's\u0000', html: 'x' } }), `Bearer ${ws.keys.admin.key}`);
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'input.subject' } } });
    expect(await eventCount(env.db)).toBe(before);
  });

  it('the server still serves a valid command after all that', async () => {
    const reply = await request('CreateContact', JSON.stringify({ input: { email: 'still-alive@example.com' } }), `Bearer ${ws.keys.marketer.key}`);
    expect(reply.ok).toBe(true);
  });
});
