import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/api/commands/index.js';
import { NatsCommandServer } from '../../src/api/commands/natsCommandServer.js';
import { API_KEY_ROLES, can, type Action, type ApiKeyRole } from '../../src/api/iam/permissions.js';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/infra/config.js';
import { silentLogger } from '../../src/infra/logger.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { eventCount } from '../fuzz/support.js';
import { mutationNames, queryNames, sdlSchema } from '../fuzz/schemaFields.js';
import { uniquePrefix } from '../support/nats.js';
import { operationOf } from './schemaWalk.js';

/**
 * The role matrix, over EVERY Query and Mutation field of the schema (read from the SDL the server is built
 * from, so a new field is checked without touching this file): without a key UNAUTHENTICATED; with a key of each
 * role, FORBIDDEN exactly when the permission table (src/api/iam/permissions.ts) denies the field's action.
 *
 * A field's action: a mutation backed by a command of the catalog has that command's permission; the fields
 * below are admin-only; any other mutation needs `write` and any other query `read`. A new admin-only field
 * that is not a command must be added to ADMIN_ONLY (the test then says so).
 */
const ADMIN_ONLY = new Set(['apiKeys', 'projections', 'parkedEvents', 'issueApiKey', 'revokeApiKey', 'eraseContact']);

const pascal = (name: string) => name[0]!.toUpperCase() + name.slice(1);
function actionOf(kind: 'query' | 'mutation', name: string): Action {
  const command = kind === 'mutation' ? COMMANDS.find((c) => c.name === pascal(name)) : undefined;
  if (command !== undefined) return command.permission;
  if (ADMIN_ONLY.has(name)) return 'admin';
  return kind === 'mutation' ? 'write' : 'read';
}

const env = await useApiTestEnv('security_roles');
let app: FastifyInstance;
let ws: SeededWorkspace;

beforeAll(async () => {
  app = await buildServer({ ...env.deps, config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: env.url, LOG_LEVEL: 'silent', RATE_LIMIT: 'off' }) });
  ws = await seedWorkspace(env.db);
});
afterAll(() => app.close());

/** The codes of one call; ids are fresh uuids, so nothing real is touched. */
async function codesOf(kind: 'query' | 'mutation', name: string, key: string | undefined): Promise<string[]> {
  const type = kind === 'query' ? sdlSchema.getQueryType()! : sdlSchema.getMutationType()!;
  const { query, variables } = operationOf(kind, type.getFields()[name]!, () => randomUUID());
  const response = await gql(app, key, query, variables);
  expect(response.statusCode, `${name}: ${JSON.stringify(response.body)}`).toBeLessThan(500);
  return (response.body.errors ?? []).map((e) => String(e.extensions?.code));
}

const roles: readonly ApiKeyRole[] = API_KEY_ROLES;

describe.each([
  ['query', queryNames],
  ['mutation', mutationNames],
] as const)('every %s field', (kind, names) => {
  it.each(names)(`%s: UNAUTHENTICATED without a key, FORBIDDEN exactly where the permission table says`, async (name) => {
    expect(await codesOf(kind, name, undefined)).toContain('UNAUTHENTICATED');
    const action = actionOf(kind, name);
    for (const role of roles) {
      const codes = await codesOf(kind, name, ws.keys[role].key);
      expect(codes, `${role} on ${name} (action ${action})`).not.toContain('UNAUTHENTICATED');
      if (can(role, action)) {
        expect(codes, `${role} may ${action}, but ${name} refused it; if ${name} is admin-only, add it to ADMIN_ONLY`).not.toContain('FORBIDDEN');
      } else {
        expect(codes, `${role} may not ${action}, but ${name} did not refuse it`).toEqual(['FORBIDDEN']);
      }
    }
  });
});

describe('the auditor', () => {
  it('cannot change anything through any mutation: all FORBIDDEN, no event appended', async () => {
    const before = await eventCount(env.db);
    for (const name of mutationNames) expect(await codesOf('mutation', name, ws.keys.auditor.key), name).toEqual(['FORBIDDEN']);
    expect(await eventCount(env.db)).toBe(before);
  });
});

describe('NATS commands', () => {
  const prefix = uniquePrefix('secroles');
  let server: NatsCommandServer;
  beforeAll(() => {
    server = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() });
    server.start();
  });
  afterAll(() => server.stop());

  const call = async (name: string, key: string | null) => {
    const headers = natsHeaders();
    if (key !== null) headers.set('Authorization', `Bearer ${key}`);
    const reply = await env.nats.request(`${prefix}.commands.${name}`, JSON.stringify({ input: {} }), { timeout: 5_000, headers });
    return reply.json<{ ok: boolean; error?: { code: string } }>();
  };

  it.each(COMMANDS.map((c) => c.name))('%s: the same role checks as GraphQL', async (name) => {
    const permission = COMMANDS.find((c) => c.name === name)!.permission;
    expect((await call(name, null)).error?.code).toBe('UNAUTHENTICATED');
    for (const role of roles) {
      const reply = await call(name, ws.keys[role].key);
      if (can(role, permission)) expect(reply.error?.code, `${role} on ${name}`).not.toBe('FORBIDDEN');
      else expect(reply.error?.code, `${role} on ${name}`).toBe('FORBIDDEN');
    }
  });
});
