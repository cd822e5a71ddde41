import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { dispatchCommand } from '../../../src/api/commands/catalog.js';
import { CreateContact } from '../../../src/api/commands/contacts.js';
import type { Principal } from '../../../src/api/iam/principal.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv } from '../support.js';

let env: ApiTestEnv;
let principal: Principal;

beforeAll(async () => {
  env = await useApiTestEnv('contactsrace');
  const ws = await seedWorkspace(env.db);
  principal = { workspaceId: ws.workspaceId, apiKeyId: ws.keys.service.id, role: 'service', actor: `apikey:${ws.keys.service.id}` };
});

const deps = () => ({ eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() });
const create = (email: string) => dispatchCommand(deps(), CreateContact, { email }, { principal, correlationId: randomUUID(), commandId: randomUUID() });

describe('CreateContact under concurrency', () => {
  it('10 concurrent creates of one email (different commandIds, different spellings) make exactly one contact', async () => {
    const spellings = ['ada@example.com', 'ADA@example.com', ' Ada@Example.COM', 'ada@EXAMPLE.com '];
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => create(spellings[i % spellings.length]!)));
    const contactId = contactIdFor(principal.workspaceId, 'ada@example.com');
    expect(outcomes.map((o) => o.data?.contactId)).toEqual(Array(10).fill(contactId));
    expect(outcomes.filter((o) => o.data?.created === true)).toHaveLength(1);
    expect(outcomes.filter((o) => o.position !== null)).toHaveLength(1);
    const stream = await env.eventStore.readStream(contactStreamId(contactId));
    if (stream.status !== 'found') throw new Error('contact stream missing');
    expect(stream.events.map((e) => e.type)).toEqual(['ContactCreated']);
  });

  it('creating an existing email later returns the existing contact, created: false, appending nothing', async () => {
    const first = await create('grace@example.com');
    const head = await env.eventStore.headPosition();
    const again = await create('Grace@Example.com');
    expect(again.data).toEqual({ contactId: first.data!.contactId, created: false });
    expect(again.position).toBeNull();
    expect(await env.eventStore.headPosition()).toBe(head);
  });
});
