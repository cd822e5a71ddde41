/**
 * The protected store over the real PostgreSQL adapter (and the EventStoreDB adapter through its gRPC double):
 * personal data is sealed in the stored rows, opened on every read path, erased markers once the key is gone,
 * and stored old schema versions are upcast on read.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEsdbEventStore } from '../../src/eventstore/esdb/esdbEventStore.js';
import type { EventMetadata, EventStore, NewEvent, RecordedEvent } from '../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ContactKeyStore } from '../../src/privacy/keyStore.js';
import { protectEventStore } from '../../src/privacy/protectedStore.js';
import { startEsdbDouble } from '../support/esdbDouble/server.js';
import { useTestDatabase } from '../support/postgres.js';

let pool: pg.Pool;
let db: Kysely<Database>;
let keys: ContactKeyStore;
let store: EventStore;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const { url } = await useTestDatabase('protected_store');
  pool = createPool({ connectionString: url, max: 5 });
  db = createKysely<Database>(pool);
  await migrateReadModels(db);
  await migrateEventStore(pool);
  keys = new ContactKeyStore(db);
  store = protectEventStore(createPostgresEventStore({ pool }), keys);
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await store.close();
  await db.destroy();
});

const WORKSPACE = 'ws-protected';
const meta = (schemaVersion = 1): EventMetadata => ({ correlationId: 'c', causationId: null, commandId: null, actor: 'test', workspaceId: WORKSPACE, schemaVersion });

function created(contactId: string, email: string): NewEvent {
  return {
    type: 'ContactCreated',
    data: { contactId, email, emailAsGiven: email.toUpperCase(), externalId: 'crm-77', phone: '+4915112345678', attributes: { first_name: { type: 'string', value: 'Ada' } }, tags: ['vip'], source: 'api', createdAt: '2026-01-01T00:00:00.000Z' },
    metadata: meta(),
  };
}

async function rawData(streamId: string): Promise<string[]> {
  const { rows } = await pool.query<{ data: string }>('SELECT data::text AS data FROM es_events WHERE stream_id = $1 ORDER BY revision', [streamId]);
  return rows.map((r) => r.data);
}

describe('protected event store (PostgreSQL)', () => {
  it('stores no plaintext personal data, keeps the rest readable, and opens it on every read path', async () => {
    const contactId = randomUUID();
    const streamId = `contact-${contactId}`;
    const email = `ada.${contactId.slice(0, 8)}@example.com`;
    const { position } = await store.append(streamId, [created(contactId, email)], { expectedRevision: 'no_stream' });

    const [stored] = await rawData(streamId);
    for (const secret of [email, email.toUpperCase(), 'Ada', '+4915112345678', 'crm-77']) expect(stored).not.toContain(secret);
    expect(JSON.parse(stored!)).toMatchObject({ contactId, tags: ['vip'], source: 'api', $pii: [{ k: contactId, f: ['email', 'emailAsGiven', 'phone', 'externalId', 'attributes'] }] });

    const read = await store.readStream(streamId);
    expect(read.status === 'found' && read.events[0]!.data).toEqual(created(contactId, email).data);
    const streams = await store.readStreams([streamId]);
    expect(streams.get(streamId)![0]!.data).toMatchObject({ email, phone: '+4915112345678' });
    const all = await store.readAll({ after: position - 1n, maxCount: 10 });
    expect(all[0]!.data).toMatchObject({ email });
    const subscription = store.subscribeAll({ after: position - 1n });
    const iterator = subscription[Symbol.asyncIterator]();
    expect((await iterator.next()).value.data).toMatchObject({ email });
    await subscription.close();
  });

  it('after the key is destroyed every read shows erased markers, and later appends store nothing personal', async () => {
    const contactId = randomUUID();
    const streamId = `contact-${contactId}`;
    const email = `grace.${contactId.slice(0, 8)}@example.com`;
    await store.append(streamId, [created(contactId, email)], { expectedRevision: 'no_stream' });
    expect(await keys.destroy([{ contactId, workspaceId: WORKSPACE }])).toEqual([contactId]);
    expect(await keys.destroy([{ contactId, workspaceId: WORKSPACE }])).toEqual([]); // idempotent

    const read = await store.readStream(streamId);
    const event = read.status === 'found' ? read.events[0]! : undefined;
    expect(event?.metadata.erased).toBe(true);
    expect(event?.data).toMatchObject({ contactId, email: `${contactId}@erased.invalid`, emailAsGiven: `${contactId}@erased.invalid`, phone: null, externalId: null, attributes: { first_name: { type: 'string', value: '' } }, tags: ['vip'] });

    const sent: NewEvent = { type: 'EmailSent', data: { campaignId: randomUUID(), variantKey: 'main', contactId, email, messageId: 'm', campaignRevision: 1, templateId: 't', templateVersion: 1, subject: 'Hi Grace', contentHash: 'h', sentAt: '2026-01-01T00:00:00.000Z' }, metadata: meta() };
    await store.append(`email-x_${contactId}`, [sent], { expectedRevision: 'any' });
    const [stored] = await rawData(`email-x_${contactId}`);
    expect(stored).not.toContain(email);
    expect(stored).not.toContain('Grace');
    const back = await store.readStream(`email-x_${contactId}`);
    expect(back.status === 'found' && back.events[0]!.data).toMatchObject({ email: `${contactId}@erased.invalid`, subject: '[erased]', campaignRevision: 1 });
  });

  it('appendMany creates the keys of many contacts in one go; readStreams opens them', async () => {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    await store.appendMany(ids.map((id) => ({ streamId: `contact-${id}`, events: [created(id, `${id}@example.com`)], expectedRevision: 'no_stream' as const })));
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM contact_keys WHERE contact_id = ANY($1)', [ids]);
    expect(Number(rows[0]!.n)).toBe(50);
    const streams = await store.readStreams(ids.map((id) => `contact-${id}`));
    expect(ids.map((id) => (streams.get(`contact-${id}`)![0]!.data as { email: string }).email)).toEqual(ids.map((id) => `${id}@example.com`));
  });

  it('refuses personal data that names no contact, writing nothing', async () => {
    const bad: NewEvent = { type: 'EmailSent', data: { campaignId: randomUUID(), email: 'x@example.com', subject: 's' }, metadata: meta() };
    await expect(store.append(`email-bad_${randomUUID()}`, [bad], { expectedRevision: 'any' })).rejects.toMatchObject({ code: 'INVALID_EVENT' });
  });

  it('a tampered ciphertext is an error, not silently erased data', async () => {
    const contactId = randomUUID();
    await store.append(`contact-${contactId}`, [created(contactId, `t-${contactId}@example.com`)], { expectedRevision: 'no_stream' });
    await pool.query(`UPDATE es_events SET data = jsonb_set(data, '{$pii,0,c}', to_jsonb(translate(data #>> '{$pii,0,c}', 'AB', 'BA'))) WHERE stream_id = $1`, [`contact-${contactId}`]);
    await expect(store.readStream(`contact-${contactId}`)).rejects.toThrow(/cannot be decrypted/);
  });

  it('upcasts a stored ContactUnsubscribed v1 (campaign only in its source) to v2 on every read', async () => {
    const contactId = randomUUID();
    const campaignId = randomUUID();
    const streamId = `contact-${contactId}`;
    // Written as an engine before v2 wrote it: no campaignId, schemaVersion 1 (raw adapter, no sealing).
    const raw = createPostgresEventStore({ pool });
    await raw.append(streamId, [{ type: 'ContactUnsubscribed', data: { topic: 'news', source: `one-click:${campaignId}`, reason: null, at: '2025-06-01T00:00:00.000Z' }, metadata: meta(1) }], { expectedRevision: 'any' });
    await raw.append(streamId, [{ type: 'ContactUnsubscribed', data: { topic: 'other', source: 'api', reason: null, at: '2025-06-01T00:00:00.000Z' }, metadata: meta(1) }], { expectedRevision: 'any' });
    await raw.close();
    const read = await store.readStream(streamId);
    const events = read.status === 'found' ? read.events : [];
    expect(events.map((e: RecordedEvent) => [e.data, e.metadata.schemaVersion])).toEqual([
      [{ topic: 'news', source: `one-click:${campaignId}`, campaignId, reason: null, at: '2025-06-01T00:00:00.000Z' }, 2],
      [{ topic: 'other', source: 'api', campaignId: null, reason: null, at: '2025-06-01T00:00:00.000Z' }, 2],
    ]);
  });
});

describe('protected event store (EventStoreDB adapter, gRPC test double)', () => {
  it('seals on append and opens on read through the same wrapper', async () => {
    const double = await startEsdbDouble();
    const esdb = protectEventStore(createEsdbEventStore({ connectionString: double.connectionString }), keys);
    closers.push(() => double.stop(), () => esdb.close());
    const contactId = randomUUID();
    const email = `esdb-${contactId}@example.com`;
    await esdb.append(`contact-${contactId}`, [created(contactId, email)], { expectedRevision: 'no_stream' });
    const raw = createEsdbEventStore({ connectionString: double.connectionString });
    closers.push(() => raw.close());
    const stored = await raw.readStream(`contact-${contactId}`);
    expect(JSON.stringify(stored.status === 'found' && stored.events[0]!.data)).not.toContain(email);
    const read = await esdb.readStream(`contact-${contactId}`);
    expect(read.status === 'found' && read.events[0]!.data).toMatchObject({ email });
    await keys.destroy([{ contactId, workspaceId: WORKSPACE }]);
    const erased = await esdb.readAll({ maxCount: 100 });
    expect(erased.find((e) => e.streamId === `contact-${contactId}`)?.data).toMatchObject({ email: `${contactId}@erased.invalid` });
  });
});
