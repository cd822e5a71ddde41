/**
 * The contacts read models through the real pipeline: catalog command → PostgreSQL event store → relay →
 * JetStream → ProjectionRunner(contactsProjection) → tables.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDefinition, CommandOutcome } from '../../../src/api/commands/catalog.js';
import * as commands from '../../../src/api/commands/contacts.js';
import { contactStreamId, type ContactEvent } from '../../../src/domain/contacts/events.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { CONTACTS_PROJECTION, contactsProjection } from '../../../src/projections/contacts/index.js';
import { ProjectionRunner } from '../../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../../src/projections/runner/queries.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';
import { uniquePrefix } from '../../support/nats.js';

let env: ApiTestEnv;
let relay: Relay;
let runner: ProjectionRunner;
const workspaceId = `ws-${randomUUID()}`;

beforeAll(async () => {
  env = await useApiTestEnv('contactsproj');
  const prefix = uniquePrefix('contactsproj');
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  runner = new ProjectionRunner({ projection: contactsProjection, db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, batchSize: 1 });
  relay.start();
  runner.start();
});
afterAll(async () => {
  await runner.stop();
  await relay.stop();
});

async function run<Input>(definition: CommandDefinition<Input>, raw: unknown, at = new Date()): Promise<CommandOutcome> {
  const deps = { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => at };
  const context = { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId, now: at };
  const outcome = await definition.execute(deps, definition.parse(raw), context);
  await projected(outcome.position);
  return outcome;
}

async function projected(position: bigint | null): Promise<void> {
  if (position !== null) expect(await waitForProjection(env.db, CONTACTS_PROJECTION, position, 10_000)).toBe(true);
}

const contactRow = (id: string) => env.db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const consentRows = (id: string) => env.db.selectFrom('contact_consents').selectAll().where('contact_id', '=', id).orderBy('topic').execute();
const suppressionRows = () => env.db.selectFrom('suppressions').selectAll().where('workspace_id', '=', workspaceId).orderBy('email').execute();

async function create(email: string, extra: Record<string, unknown> = {}): Promise<string> {
  const outcome = await run(commands.CreateContact, { email, ...extra });
  return String(outcome.data!.contactId);
}

describe('contacts projection', () => {
  it('projects a created contact with its attributes, tags, consents and schema keys', async () => {
    const at = new Date('2024-05-01T10:00:00Z');
    const outcome = await run(
      commands.CreateContact,
      {
        email: ' Grace@Example.com ',
        phone: '+1 555 123 4567',
        externalId: 'crm-7',
        attributes: { plan: { type: 'string', value: 'pro' }, age: { type: 'number', value: 41 }, birthday: { type: 'date', value: '1906-12-09' } },
        tags: ['VIP'],
        subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v3', source: 'form:signup' }],
      },
      at,
    );
    const id = String(outcome.data!.contactId);
    expect(await contactRow(id)).toMatchObject({
      workspace_id: workspaceId,
      email: 'grace@example.com',
      email_as_given: 'Grace@Example.com',
      phone: '+15551234567',
      external_id: 'crm-7',
      attributes: { plan: { type: 'string', value: 'pro' }, age: { type: 'number', value: 41 }, birthday: { type: 'date', value: '1906-12-09' } },
      tags: ['vip'],
      status: 'active',
      suppressed: false,
      created_at: at,
      last_position: String(outcome.position),
    });
    expect(await consentRows(id)).toMatchObject([{ topic: 'newsletter', status: 'subscribed', source: 'form:signup', consent_text_version: 'v3', at, changed_at: at }]);
    const keys = await env.db.selectFrom('contact_attribute_keys').select(['key', 'type']).where('workspace_id', '=', workspaceId).orderBy('key').execute();
    expect(keys).toEqual([
      { key: 'age', type: 'number' },
      { key: 'birthday', type: 'date' },
      { key: 'plan', type: 'string' },
    ]);
  });

  it('applies attribute changes, tags, consents and suppression with set-based updates', async () => {
    const id = await create('ada@example.com', { attributes: { plan: { type: 'string', value: 'free' }, sizes: { type: 'list', value: ['s'] } }, tags: ['a'] });
    await run(commands.UpdateContactAttributes, { contactId: id, changes: { plan: { type: 'string', value: 'pro' }, sizes: null, vip: { type: 'boolean', value: true } }, phone: '+49 151 12345678' });
    await run(commands.TagContact, { contactId: id, tags: ['b', 'c'] });
    await run(commands.UntagContact, { contactId: id, tags: ['a'] });
    expect(await contactRow(id)).toMatchObject({ attributes: { plan: { type: 'string', value: 'pro' }, vip: { type: 'boolean', value: true } }, tags: ['b', 'c'], phone: '+4915112345678' });

    const t1 = new Date('2024-06-01T00:00:00Z');
    const t2 = new Date('2024-06-02T00:00:00Z');
    const t3 = new Date('2024-06-03T00:00:00Z');
    await run(commands.SubscribeContact, { contactId: id, topic: 'news', consentTextVersion: 'v1', source: 'form' }, t1);
    await run(commands.SubscribeContact, { contactId: id, topic: 'news', consentTextVersion: 'v2', source: 'form' }, t2);
    expect(await consentRows(id)).toMatchObject([{ status: 'subscribed', consent_text_version: 'v2', at: t2, changed_at: t1 }]);
    await run(commands.UnsubscribeContact, { contactId: id, topic: 'news', source: 'link:c1', reason: 'too many' }, t3);
    expect(await consentRows(id)).toMatchObject([{ status: 'unsubscribed', source: 'link:c1', reason: 'too many', consent_text_version: 'v2', at: t3, changed_at: t3 }]);

    await run(commands.SuppressContact, { contactId: id, reason: 'hard_bounce', detail: '550 5.1.1' }, t1);
    expect(await contactRow(id)).toMatchObject({ suppressed: true, suppression_reason: 'hard_bounce' });
    expect(await suppressionRows()).toMatchObject([{ contact_id: id, email: 'ada@example.com', reason: 'hard_bounce', detail: '550 5.1.1', at: t1 }]);
    await run(commands.UnsuppressContact, { contactId: id, detail: 'mailbox restored' });
    expect(await contactRow(id)).toMatchObject({ suppressed: false, suppression_reason: null });
    expect(await suppressionRows()).toEqual([]);
  });

  it('keeps the first type of an attribute key as the schema and refuses another type', async () => {
    await create('first@example.com', { attributes: { tier: { type: 'number', value: 1 } } });
    await expect(create('second@example.com', { attributes: { tier: { type: 'string', value: 'gold' } } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'input.attributes.tier' } });
    const id = await create('third@example.com');
    await expect(run(commands.UpdateContactAttributes, { contactId: id, changes: { tier: { type: 'list', value: ['x'] } } })).rejects.toMatchObject({ details: { field: 'input.changes.tier' } });
  });

  it('applies a merge: the duplicate becomes merged, the survivor takes over what the event lists', async () => {
    const survivor = await create('main@example.com', { tags: ['a'], attributes: { plan: { type: 'string', value: 'free' } } });
    const duplicate = await create('old@example.com');
    await run(commands.SuppressContact, { contactId: duplicate, reason: 'complaint', detail: null });
    const at = '2024-07-01T00:00:00.000Z';
    const metadata = { correlationId: randomUUID(), causationId: null, commandId: randomUUID(), actor: 'test', workspaceId, schemaVersion: 1 };
    const absorbed: ContactEvent = {
      type: 'ContactAbsorbed',
      data: {
        duplicateId: duplicate,
        duplicateEmail: 'old@example.com',
        attributes: { plan: { type: 'string', value: 'pro' } },
        tags: ['b', 'a'],
        subscriptions: [{ topic: 'offers', source: 'import:1', consentTextVersion: 'v9', at }],
        unsubscriptions: [{ topic: 'news', at }],
        suppression: { reason: 'complaint', at },
        phone: '+15550001111',
        externalId: null,
        rule: 'manual',
        at,
      },
    };
    await env.eventStore.append(contactStreamId(survivor), [{ ...absorbed, metadata }], { expectedRevision: 'stream_exists' });
    const mergedEvent: ContactEvent = { type: 'ContactMerged', data: { survivorId: survivor, rule: 'manual', at } };
    const appended = await env.eventStore.append(contactStreamId(duplicate), [{ ...mergedEvent, metadata }], { expectedRevision: 'stream_exists' });
    await projected(appended.position);

    expect(await contactRow(duplicate)).toMatchObject({ status: 'merged', merged_into: survivor });
    expect(await contactRow(survivor)).toMatchObject({ status: 'active', tags: ['a', 'b'], attributes: { plan: { type: 'string', value: 'pro' } }, phone: '+15550001111', suppressed: true, suppression_reason: 'complaint' });
    expect(await consentRows(survivor)).toMatchObject([
      { topic: 'news', status: 'unsubscribed' },
      { topic: 'offers', status: 'subscribed', consent_text_version: 'v9' },
    ]);
    expect((await suppressionRows()).map((s) => s.contact_id)).toEqual([survivor]);

    // Creating the merged email again answers with the survivor.
    const again = await run(commands.CreateContact, { email: 'OLD@example.com' });
    expect(again.data).toEqual({ contactId: survivor, created: false });
  });

  it('is idempotent: re-applying the whole log over the existing rows changes nothing', async () => {
    const head = await env.eventStore.headPosition();
    await projected(head);
    const snapshot = async () => ({
      contacts: await env.db.selectFrom('contacts').selectAll().orderBy('id').execute(),
      consents: await env.db.selectFrom('contact_consents').selectAll().orderBy('contact_id').orderBy('topic').execute(),
      suppressions: await env.db.selectFrom('suppressions').selectAll().orderBy('contact_id').execute(),
      keys: await env.db.selectFrom('contact_attribute_keys').selectAll().orderBy('key').execute(),
    });
    const before = await snapshot();
    expect(before.contacts.length).toBeGreaterThan(5);
    const events = await env.eventStore.readAll({ maxCount: 10_000 });
    await env.db.transaction().execute(async (trx) => {
      for (const event of events) if (contactsProjection.eventTypes!.includes(event.type)) await contactsProjection.apply(trx, event);
    });
    expect(await snapshot()).toEqual(before);
  });
});
