import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { attributeTypesOf } from '../../../src/api/commands/attributeSchema.js';
import { dispatchCommand } from '../../../src/api/commands/catalog.js';
import { CreateContact } from '../../../src/api/commands/contacts.js';
import type { Principal } from '../../../src/api/iam/principal.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv } from '../support.js';

let env: ApiTestEnv;
let principal: Principal;

beforeAll(async () => {
  env = await useApiTestEnv('attrschema');
  const ws = await seedWorkspace(env.db);
  principal = { workspaceId: ws.workspaceId, apiKeyId: ws.keys.service.id, role: 'service', actor: `apikey:${ws.keys.service.id}` };
});

const recordKey = (workspaceId: string, key: string, type: string) =>
  sql`INSERT INTO contact_attribute_keys (workspace_id, key, type, first_seen_at) VALUES (${workspaceId}, ${key}, ${type}, now())`.execute(env.db);

describe('the contact attribute schema seen by commands', () => {
  it('a key the read model has typed rejects a value of another type', async () => {
    await recordKey(principal.workspaceId, 'age', 'number');
    const deps = { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() };
    const error = await dispatchCommand(deps, CreateContact, { email: 'typed@example.com', attributes: { age: { type: 'string', value: 'old' } } }, { principal, correlationId: randomUUID() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ field: 'input.attributes.age' });
    expect(String((error as Error).message)).toMatch(/age is a number in this workspace's contact schema, not a string/);
  });

  it('a known type is remembered (it can never change); an unknown key is asked again until it appears', async () => {
    const workspaceId = randomUUID();
    expect(await attributeTypesOf(env.db, workspaceId, ['plan'])).toEqual(new Map());
    await recordKey(workspaceId, 'plan', 'string');
    expect(await attributeTypesOf(env.db, workspaceId, ['plan'])).toEqual(new Map([['plan', 'string']]));
    // Proof that it is not asked again: the row is gone, the remembered type is still answered.
    await sql`DELETE FROM contact_attribute_keys WHERE workspace_id = ${workspaceId}`.execute(env.db);
    expect(await attributeTypesOf(env.db, workspaceId, ['plan', 'tier'])).toEqual(new Map([['plan', 'string']]));
  });

  it('concurrent questions about the same unknown keys all get the answer', async () => {
    const workspaceId = randomUUID();
    await recordKey(workspaceId, 'score', 'number');
    const answers = await Promise.all(Array.from({ length: 20 }, () => attributeTypesOf(env.db, workspaceId, ['score', 'other'])));
    for (const answer of answers) expect(answer).toEqual(new Map([['score', 'number']]));
  });
});
