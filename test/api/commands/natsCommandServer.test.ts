import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCommand } from '../../../src/api/commands/catalog.js';
import { NatsCommandServer } from '../../../src/api/commands/natsCommandServer.js';
import { ValidationError } from '../../../src/api/errors.js';
import type { Decider } from '../../../src/domain/shared/decider.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';
import { uniquePrefix } from '../../support/nats.js';

const notes: Decider<{ text: string }, null, { type: 'NoteWritten'; data: { text: string } }> = {
  initialState: () => null,
  evolve: (s) => s,
  decide: (c) => [{ type: 'NoteWritten', data: { text: c.text } }],
};

const WriteNote = defineCommand<{ noteId: string; text: string }>({
  name: 'WriteNote',
  permission: 'write',
  parse(raw) {
    const input = raw as { noteId?: unknown; text?: unknown } | null;
    if (typeof input?.noteId !== 'string') throw new ValidationError('input.noteId', 'noteId is required.');
    if (typeof input.text !== 'string' || input.text === '') throw new ValidationError('input.text', 'text must be a non-empty string.');
    return { noteId: input.noteId, text: input.text };
  },
  async execute(deps, input, context) {
    const result = await handleCommand(deps.eventStore, notes, `note-${input.noteId}`, { text: input.text }, context);
    return { streamId: result.streamId, revision: result.revision, position: result.position, duplicate: result.duplicate, data: { noteId: input.noteId } };
  },
});

let env: ApiTestEnv;
let server: NatsCommandServer;
let ws: SeededWorkspace;
const prefix = uniquePrefix('natscmd');

beforeAll(async () => {
  env = await useApiTestEnv('natscmd');
  server = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() }, [WriteNote]);
  server.start();
  ws = await seedWorkspace(env.db);
});
afterAll(() => server.stop());

async function request(name: string, body: unknown, key: string | null, correlationId?: string, on = prefix) {
  const headers = natsHeaders();
  if (key !== null) headers.set('Authorization', `Bearer ${key}`);
  if (correlationId !== undefined) headers.set('Mkt-Correlation-Id', correlationId);
  const reply = await env.nats.request(`${on}.commands.${name}`, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5_000, headers });
  return reply.json<{ ok: boolean; result?: Record<string, unknown>; error?: { code: string; message: string; details?: Record<string, unknown> } }>();
}

describe('NATS command request/reply', () => {
  it('runs a command, records the key as actor and the correlation id, and is idempotent by commandId', async () => {
    const noteId = randomUUID();
    const commandId = randomUUID();
    const first = await request('WriteNote', { commandId, input: { noteId, text: 'hi' } }, ws.keys.service.key, 'corr-123');
    expect(first).toMatchObject({ ok: true, result: { streamId: `note-${noteId}`, revision: 0, duplicate: false, data: { noteId } } });
    const again = await request('WriteNote', { commandId, input: { noteId, text: 'hi' } }, ws.keys.service.key);
    expect(again).toMatchObject({ ok: true, result: { revision: 0, duplicate: true, position: first.result!.position } });
    const stored = await env.eventStore.readStream(`note-${noteId}`);
    if (stored.status !== 'found') throw new Error('missing');
    expect(stored.events).toHaveLength(1);
    expect(stored.events[0]!.metadata).toMatchObject({ actor: `apikey:${ws.keys.service.id}`, workspaceId: ws.workspaceId, correlationId: 'corr-123', commandId });
  });

  it('answers bad requests with the same error codes as GraphQL, writing nothing', async () => {
    expect(await request('WriteNote', { input: { noteId: 'x' } }, null)).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(await request('WriteNote', { input: { noteId: 'x' } }, 'mk_forged')).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(await request('WriteNote', { input: { noteId: 'x', text: 't' } }, ws.keys.auditor.key)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await request('DropDatabase', { input: {} }, ws.keys.admin.key)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await request('WriteNote', 'not json', ws.keys.admin.key)).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'body' } } });
    expect(await request('WriteNote', { commandId: 7, input: {} }, ws.keys.admin.key)).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    const noteId = randomUUID();
    expect(await request('WriteNote', { input: { noteId, text: '' } }, ws.keys.admin.key)).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'input.text' } } });
    expect((await env.eventStore.readStream(`note-${noteId}`)).status).toBe('not_found');
  });
});

describe('NATS command rate limit per API key', () => {
  it('answers RATE_LIMITED over the limit, writing nothing, while another key goes on', async () => {
    const limitedPrefix = uniquePrefix('natscmdlimit');
    const limited = new NatsCommandServer(env.nats, limitedPrefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() }, [WriteNote], { perKeyPerMinute: 3 });
    limited.start();
    try {
      for (let i = 0; i < 3; i++) expect(await request('WriteNote', { input: { noteId: randomUUID(), text: 'ok' } }, ws.keys.marketer.key, undefined, limitedPrefix)).toMatchObject({ ok: true });
      const noteId = randomUUID();
      const refused = await request('WriteNote', { input: { noteId, text: 'too many' } }, ws.keys.marketer.key, undefined, limitedPrefix);
      expect(refused).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', retryable: true } });
      const retryAfter = Number(refused.error?.details?.retryAfterSeconds);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await env.eventStore.readStream(`note-${noteId}`)).status).toBe('not_found');
      expect(await request('WriteNote', { input: { noteId: randomUUID(), text: 'other key' } }, ws.keys.admin.key, undefined, limitedPrefix)).toMatchObject({ ok: true });
    } finally {
      await limited.stop();
    }
  });
});
