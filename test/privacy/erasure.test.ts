/**
 * GDPR erasure end to end, on real PostgreSQL and NATS: contacts created through GraphQL, a segment, a campaign
 * with sent and opened emails, the relay and every projection running, plus the erasure follower. Erasing one
 * contact: the log can no longer reveal them, the read models and JetStream forget them, counts stay, later
 * commands are refused, a repeat changes nothing, and a rebuild of every read model from position 0 equals the
 * live read models (so a replay shows the contact erased and the same counts). The other contacts are untouched.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { NatsCommandServer } from '../../src/api/commands/natsCommandServer.js';
import { buildServer } from '../../src/api/server.js';
import { parseImportMapping } from '../../src/domain/contacts/import/mapping.js';
import { runImport, textSource } from '../../src/sagas/import/runner.js';
import { campaignDecider } from '../../src/domain/campaigns/decide.js';
import { campaignStreamId } from '../../src/domain/campaigns/events.js';
import { emailStreamId } from '../../src/domain/deliveries/events.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import type { EventMetadata, EventStore } from '../../src/eventstore/port.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { loadConfig } from '../../src/infra/config.js';
import { eventStreamName } from '../../src/infra/jetstream.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createPool } from '../../src/infra/postgres.js';
import { PROJECTIONS } from '../../src/projections/index.js';
import { listParkedEvents, waitForProjection } from '../../src/projections/runner/queries.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { createErasureFollower } from '../../src/privacy/erasureFollower.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { readStreamMessages, uniquePrefix } from '../support/nats.js';
import { compareWithFreshRebuild } from '../support/rebuildCompare.js';

let env: ApiTestEnv;
let store: EventStore;
let app: FastifyInstance;
let ws: SeededWorkspace;
let prefix: string;
const stops: (() => Promise<unknown>)[] = [];
const projections = () => [...PROJECTIONS];

beforeAll(async () => {
  const base = await useApiTestEnv('privacy_erasure');
  prefix = uniquePrefix('privacy');
  store = base.eventStore; // the production stack: protected (test/api/support.ts)
  const config = loadConfig({ NODE_ENV: 'test', NATS_PREFIX: prefix, LOG_LEVEL: 'silent' });
  env = { ...base, eventStore: store, config, deps: { ...base.deps, eventStore: store, config } };
  const pool = createPool({ connectionString: env.url, max: PROJECTIONS.length + 4 });
  const relay = new Relay({ store, db: env.db, pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  const runners = [...projections(), createErasureFollower(env.nats, prefix)].map(
    (projection) => new ProjectionRunner({ projection, db: env.db, pool, nats: env.nats, prefix, store, logger: silentLogger, standbyRetryMs: 100 }),
  );
  relay.start();
  for (const runner of runners) runner.start();
  stops.push(async () => {
    for (const runner of runners) await runner.stop();
    await relay.stop();
    await pool.end();
  });
  app = await buildServer(env.deps);
  stops.push(() => app.close());
  ws = await seedWorkspace(env.db);
}, 60_000);
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
});

async function caughtUp(position: bigint | string | null, names: readonly string[] = [...PROJECTIONS.map((p) => p.name), 'privacy_erasure']): Promise<void> {
  if (position === null) return;
  for (const name of names) expect(await waitForProjection(env.db, name, BigInt(position), 15_000), `${name} reached ${position}`).toBe(true);
  expect(await listParkedEvents(env.db)).toEqual([]);
}

const run = (key: string, query: string, variables: Record<string, unknown> = {}) => gql(app, key, query, variables);

const CREATE = `mutation($input: CreateContactInput!) { createContact(input: $input) { contactId receipt { position } } }`;
const ERASE = `mutation($id: ID!, $commandId: String) { eraseContact(input: { contactId: $id }, commandId: $commandId) { contactId erasedContactIds alreadyErased receipt { position duplicate } } }`;

interface Person {
  readonly id: string;
  readonly email: string;
  readonly firstName: string;
  readonly phone: string;
}

const tag = randomUUID().slice(0, 6);
const people: Record<'ada' | 'grace' | 'linus', Omit<Person, 'id'>> = {
  ada: { email: `ada.lovelace.${tag}@example.com`, firstName: `Adalind${tag}`, phone: '+4915112340001' },
  grace: { email: `grace.hopper.${tag}@example.com`, firstName: `Gracelyn${tag}`, phone: '+4915112340002' },
  linus: { email: `linus.t.${tag}@example.com`, firstName: `Linwood${tag}`, phone: '+4915112340003' },
};
const ids: Record<keyof typeof people, string> = { ada: '', grace: '', linus: '' };
let campaignId: string;
let segmentId: string;

async function stats() {
  const row = await env.db.selectFrom('campaign_stats').selectAll().where('campaign_id', '=', campaignId).where('variant_key', '=', '').executeTakeFirstOrThrow();
  return { audience: row.audience_size, sent: row.sent, opened: row.opened, uniqueOpens: row.unique_opens, clicked: row.clicked };
}

async function memberCount(): Promise<number> {
  const row = await env.db.selectFrom('segments').select('member_count').where('id', '=', segmentId).executeTakeFirstOrThrow();
  return Number(row.member_count);
}

/** Every row of every read-side table as text, to search for a person's data. */
async function readSideText(): Promise<string> {
  const { rows: tables } = await env.pool.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'es\\_%' AND tablename <> 'kysely_migration'`);
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await env.pool.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
    parts.push(...rows.map((r) => `${name}: ${r.row}`));
  }
  return parts.join('\n');
}

async function eventRowsText(): Promise<string> {
  const { rows } = await env.pool.query<{ row: string }>('SELECT data::text || metadata::text AS row FROM es_events');
  return rows.map((r) => r.row).join('\n');
}

const meta = (): EventMetadata => ({ correlationId: randomUUID(), causationId: null, commandId: null, actor: 'launch-saga', workspaceId: ws.workspaceId, schemaVersion: 1 });

describe('GDPR erasure by crypto-shredding', () => {
  it('sets up three contacts in a segment and a campaign that was sent to them and opened by two', async () => {
    for (const name of Object.keys(people) as (keyof typeof people)[]) {
      const p = people[name];
      const input = { email: p.email, phone: p.phone, attributes: [{ key: 'first_name', type: 'STRING', value: p.firstName }], tags: ['vip'], subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v1' }] };
      const created = await run(ws.keys.marketer.key, CREATE, { input });
      expect(created.body.errors).toBeUndefined();
      ids[name] = created.body.data!.createContact.contactId;
    }
    const segment = await run(ws.keys.marketer.key, `mutation { defineSegment(input: { name: "news", rules: { subscribed: "newsletter" } }) { segmentId receipt { position } } }`);
    expect(segment.body.errors).toBeUndefined();
    segmentId = segment.body.data!.defineSegment.segmentId;

    campaignId = randomUUID();
    const context = { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId: ws.workspaceId };
    const settings = { sender: null, replyTo: null, segmentId, templateId: randomUUID(), templateVersion: 1, topic: 'newsletter' };
    await handleCommand(store, campaignDecider, campaignStreamId(campaignId), { type: 'CreateCampaign', data: { campaignId, name: 'Spring', ...settings, at: '2026-03-01T00:00:00.000Z' } }, context);
    await store.append(`launch-${campaignId}`, [{ type: 'AudienceFrozen', data: { campaignId, audienceSize: 3, variantSizes: null, hash: 'h', excluded: { unsubscribed: 0, suppressed: 0, merged: 0, duplicateEmail: 0 }, at: '2026-03-01T09:00:00.000Z' }, metadata: meta() }], { expectedRevision: 'any' });
    let last: bigint = 0n;
    for (const name of Object.keys(people) as (keyof typeof people)[]) {
      const contactId = ids[name];
      const { email, firstName } = people[name];
      const messageId = `${campaignId}.main.${contactId}@shop.example`;
      await env.db.insertInto('delivery_ledger').values({ idempotency_key: `${campaignId}:main:${contactId}`, workspace_id: ws.workspaceId, campaign_id: campaignId, variant_key: 'main', contact_id: contactId, email, message_id: messageId, status: 'sent', subject: `Hi ${firstName}`, last_error: `421 retry for <${email}>` }).execute();
      const events = [{ type: 'EmailSent', data: { campaignId, variantKey: 'main', contactId, email, messageId, campaignRevision: 0, templateId: settings.templateId, templateVersion: 1, subject: `Hi ${firstName}`, contentHash: 'c', sentAt: '2026-03-01T09:01:00.000Z' }, metadata: meta() }];
      if (name !== 'linus') events.push({ type: 'EmailOpened', data: { campaignId, variantKey: 'main', contactId, at: '2026-03-01T10:00:00.000Z' } as never, metadata: meta() });
      last = (await store.append(emailStreamId(campaignId, contactId), events, { expectedRevision: 'any' })).position;
    }
    await caughtUp(last);
    expect(await stats()).toEqual({ audience: 3, sent: 3, opened: 2, uniqueOpens: 2, clicked: 0 });
    expect(await memberCount()).toBe(3);
    // Sealed from the start: the log never held anyone's plaintext.
    const log = await eventRowsText();
    for (const p of Object.values(people)) for (const secret of [p.email, p.firstName, p.phone]) expect(log).not.toContain(secret);
    // The relay published readable events: NATS subscribers need no keys.
    const published = JSON.stringify((await readStreamMessages(env.nats, eventStreamName(prefix))).map((m) => m.body));
    expect(published).toContain(people.ada.email);
  }, 60_000);

  it('is refused to keys below admin, and names bad or unknown contacts', async () => {
    const forbidden = await run(ws.keys.marketer.key, ERASE, { id: ids.ada });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await run(ws.keys.admin.key, ERASE, { id: 'not-a-uuid' });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.contactId' });
    const unknown = await run(ws.keys.admin.key, ERASE, { id: randomUUID() });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const other = await seedWorkspace(env.db);
    const foreign = await run(other.keys.admin.key, ERASE, { id: ids.ada });
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it("erases Ada: her data can't be read anywhere, read models and JetStream forget her, counts stay", async () => {
    const erased = await run(ws.keys.admin.key, ERASE, { id: ids.ada });
    expect(erased.body.errors).toBeUndefined();
    expect(erased.body.data!.eraseContact).toMatchObject({ contactId: ids.ada, erasedContactIds: [ids.ada], alreadyErased: false });
    await caughtUp(erased.body.data!.eraseContact.receipt.position);

    // The log: her events read as erased markers through the store, on every read path.
    const history = await store.readStream(`contact-${ids.ada}`);
    expect(history.status === 'found' && history.events.map((e) => e.type)).toEqual(['ContactCreated', 'ContactSubscribed', 'ContactErased']);
    expect(history.status === 'found' && history.events[0]).toMatchObject({ data: { email: `${ids.ada}@erased.invalid`, phone: null, attributes: { first_name: { type: 'string', value: '' } } }, metadata: { erased: true } });
    const sent = await store.readStream(emailStreamId(campaignId, ids.ada));
    expect(sent.status === 'found' && sent.events[0]!.data).toMatchObject({ email: `${ids.ada}@erased.invalid`, subject: '[erased]', contactId: ids.ada });
    expect(JSON.stringify(await store.readAll({ maxCount: 10_000 }), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(people.ada.email);
    const keyRow = await env.db.selectFrom('contact_keys').selectAll().where('contact_id', '=', ids.ada).executeTakeFirstOrThrow();
    expect(keyRow.data_key).toBeNull();

    // Read models and side tables: nothing of her is left; the others are untouched.
    const readSide = await readSideText();
    for (const secret of [people.ada.email, people.ada.firstName, people.ada.phone]) expect(readSide).not.toContain(secret);
    expect(readSide).toContain(people.grace.email);
    expect(readSide).toContain(people.linus.firstName);
    const contact = await run(ws.keys.admin.key, `{ contact(id: "${ids.ada}") { email } }`);
    expect(contact.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const grace = await run(ws.keys.admin.key, `{ contact(id: "${ids.grace}") { email } }`);
    expect(grace.body.data!.contact.email).toBe(people.grace.email);
    const ledger = await env.db.selectFrom('delivery_ledger').select(['email', 'subject', 'last_error', 'status']).where('contact_id', '=', ids.ada).executeTakeFirstOrThrow();
    expect(ledger).toEqual({ email: `${ids.ada}@erased.invalid`, subject: null, last_error: '[erased]', status: 'sent' });

    // Counts: the campaign's stay; the segment lost a member.
    expect(await stats()).toEqual({ audience: 3, sent: 3, opened: 2, uniqueOpens: 2, clicked: 0 });
    expect(await memberCount()).toBe(2);

    // JetStream: her earlier messages were purged by the erasure follower; the others' remain.
    const published = JSON.stringify((await readStreamMessages(env.nats, eventStreamName(prefix))).map((m) => m.body));
    expect(published).not.toContain(people.ada.email);
    expect(published).not.toContain(people.ada.firstName);
    expect(published).toContain(people.grace.email);
  }, 60_000);

  it('refuses later commands on her, and her email cannot come back', async () => {
    const update = await run(ws.keys.marketer.key, `mutation { tagContact(input: { contactId: "${ids.ada}", tags: ["x"] }) { contactId } }`);
    expect(update.body.errors?.[0]?.extensions?.code).toBe('CONTACT_ERASED');
    const again = await run(ws.keys.marketer.key, CREATE, { input: { email: people.ada.email } });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('CONTACT_ERASED');
    expect(await eventRowsText()).not.toContain(people.ada.email);
  });

  it('erasing twice is idempotent: the same answer, nothing new written', async () => {
    const before = await store.headPosition();
    const repeat = await run(ws.keys.admin.key, ERASE, { id: ids.ada });
    expect(repeat.body.data!.eraseContact).toMatchObject({ contactId: ids.ada, alreadyErased: true, receipt: { position: null } });
    expect(await store.headPosition()).toBe(before);
  });

  it('an import of a file that still lists her records a row error and writes nothing about her', async () => {
    const summary = await runImport(textSource(`email,plan\n${people.ada.email},pro\n${people.grace.email},pro\n`), {
      store, db: env.db, workspaceId: ws.workspaceId, actor: 'test', fileName: 'old-list.csv', mapping: parseImportMapping({ email: 'email', plan: 'plan' }),
    });
    expect(summary).toMatchObject({ status: 'completed', failedRows: 1, updated: 1 });
    const errors = await env.db.selectFrom('import_row_errors').select(['row', 'reason']).where('job_id', '=', summary.jobId).execute();
    expect(errors).toEqual([{ row: 2, reason: expect.stringMatching(/erased/) }]);
    expect(await eventRowsText()).not.toContain(people.ada.email);
  });

  it('works over the NATS command API too (Linus, with an admin key)', async () => {
    const server = new NatsCommandServer(env.nats, prefix, { eventStore: store, db: env.db, logger: silentLogger, now: () => new Date() });
    server.start();
    stops.push(() => server.stop());
    const request = async (key: string) => {
      const headers = natsHeaders();
      headers.set('Authorization', `Bearer ${key}`);
      const reply = await env.nats.request(`${prefix}.commands.EraseContact`, JSON.stringify({ input: { contactId: ids.linus } }), { timeout: 5_000, headers });
      return reply.json<{ ok: boolean; result?: { data?: Record<string, unknown>; position?: string }; error?: { code: string } }>();
    };
    expect((await request(ws.keys.service.key)).error?.code).toBe('FORBIDDEN');
    const reply = await request(ws.keys.admin.key);
    expect(reply.ok).toBe(true);
    expect(reply.result?.data).toMatchObject({ contactId: ids.linus, alreadyErased: false });
    await caughtUp(await store.headPosition());
    expect(await readSideText()).not.toContain(people.linus.email);
    expect(await stats()).toEqual({ audience: 3, sent: 3, opened: 2, uniqueOpens: 2, clicked: 0 });
    expect(await memberCount()).toBe(1);
  });

  it('erasing a merge survivor erases the duplicates it absorbed (the same person) too', async () => {
    const survivorEmail = `mira.${tag}@example.com`;
    const duplicateEmail = `mira.work.${tag}@example.com`;
    const survivorId = (await run(ws.keys.marketer.key, CREATE, { input: { email: survivorEmail } })).body.data!.createContact.contactId as string;
    const duplicateId = (await run(ws.keys.marketer.key, CREATE, { input: { email: duplicateEmail, phone: '+4915112340009' } })).body.data!.createContact.contactId as string;
    const merged = await run(ws.keys.marketer.key, `mutation { mergeContacts(input: { survivorId: "${survivorId}", duplicateId: "${duplicateId}" }) { survivorId } }`);
    expect(merged.body.errors).toBeUndefined();
    const erased = await run(ws.keys.admin.key, ERASE, { id: survivorId });
    expect(erased.body.data!.eraseContact).toMatchObject({ erasedContactIds: [survivorId, duplicateId], alreadyErased: false });
    await caughtUp(await store.headPosition());
    const duplicate = await store.readStream(`contact-${duplicateId}`);
    expect(duplicate.status === 'found' && duplicate.events.map((e) => e.type)).toEqual(['ContactCreated', 'ContactMerged', 'ContactErased']);
    const survivor = await store.readStream(`contact-${survivorId}`);
    // The survivor's ContactAbsorbed carried the duplicate's address (sealed under the duplicate's key): erased too.
    expect(survivor.status === 'found' && survivor.events.find((e) => e.type === 'ContactAbsorbed')?.data).toMatchObject({ duplicateEmail: `${duplicateId}@erased.invalid`, phone: null });
    const readSide = await readSideText();
    for (const secret of [survivorEmail, duplicateEmail, '+4915112340009']) expect(readSide).not.toContain(secret);
  });

  it('a rebuild of every read model from position 0 equals the live read models: still erased, same counts', async () => {
    await caughtUp(await store.headPosition());
    const comparison = await compareWithFreshRebuild(store, env.db, projections());
    expect(comparison.differences).toEqual([]);
    expect(comparison.tables.contacts).toBe(1);
    expect(comparison.tables.campaign_stats).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
