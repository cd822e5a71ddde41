/**
 * Schema evolution: ContactUnsubscribed v1 (the campaign only inside `source`) → v2 (`campaignId`). Stored v1 rows
 * (test/eventstore/fixtures/contact-stream-v1.json, written as an older engine wrote them) replay into today's code:
 * the decider folds and decides on them, and the projections (contacts, campaign statistics) read them, through
 * the protected store's one upcasting pipeline.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, beforeAll } from 'vitest';
import { campaignDecider } from '../../src/domain/campaigns/decide.js';
import { campaignStreamId } from '../../src/domain/campaigns/events.js';
import { contactDecider } from '../../src/domain/contacts/decide.js';
import { CONTACT_EVENT_SCHEMA_VERSIONS, contactStreamId, upcastContactEvent, type ContactEvent } from '../../src/domain/contacts/events.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import type { EventStore, NewEvent, RecordedEvent } from '../../src/eventstore/port.js';
import { currentSchemaVersion, upcastRecorded } from '../../src/eventstore/upcasting.js';
import { silentLogger } from '../../src/infra/logger.js';
import { campaignStatsProjection } from '../../src/projections/campaigns/stats.js';
import { campaignsProjection } from '../../src/projections/campaigns/projection.js';
import { contactsProjection } from '../../src/projections/contacts/projection.js';
import { applyBatch } from '../../src/projections/runner/applyBatch.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { useApiTestEnv, type ApiTestEnv } from '../api/support.js';

interface Fixture {
  readonly workspaceId: string;
  readonly campaignId: string;
  readonly contactId: string;
  readonly events: readonly NewEvent[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/contact-stream-v1.json', import.meta.url), 'utf8')) as Fixture;
const streamId = contactStreamId(fixture.contactId);
const v1Unsubscribe = fixture.events[2]!;

describe('the ContactUnsubscribed upcaster (pure)', () => {
  it('derives campaignId from a v1 source, null for other sources; today\'s version passes unchanged; unknown versions are refused', () => {
    expect(CONTACT_EVENT_SCHEMA_VERSIONS.ContactUnsubscribed).toBe(2);
    expect(currentSchemaVersion('ContactUnsubscribed')).toBe(2);
    expect(upcastContactEvent(v1Unsubscribe, 1)).toEqual({ type: 'ContactUnsubscribed', data: { ...(v1Unsubscribe.data as object), campaignId: fixture.campaignId } });
    expect(upcastContactEvent({ type: 'ContactUnsubscribed', data: { topic: 't', source: 'link:not-a-uuid', reason: null, at: 'x' } }, 1).data).toMatchObject({ campaignId: null });
    const current: ContactEvent = { type: 'ContactUnsubscribed', data: { topic: 't', source: 'api', campaignId: null, reason: null, at: 'x' } };
    expect(upcastContactEvent(current, 2)).toBe(current);
    expect(() => upcastContactEvent(current, 3)).toThrow(/schema version 3 is unknown/);
    expect(() => upcastContactEvent({ type: 'Nope', data: {} }, 1)).toThrow(/Not a contact event/);
  });

  it('upcastRecorded moves metadata.schemaVersion to today\'s and leaves newer or foreign events alone', () => {
    const recorded = { id: randomUUID(), streamId, revision: 2, position: 3n, recordedAt: new Date(), ...v1Unsubscribe } as RecordedEvent;
    expect(upcastRecorded(recorded)).toMatchObject({ data: { campaignId: fixture.campaignId }, metadata: { schemaVersion: 2 } });
    const newer = { ...recorded, metadata: { ...recorded.metadata, schemaVersion: 7 } };
    expect(upcastRecorded(newer)).toBe(newer);
    const foreign = { ...recorded, streamId: `note-${randomUUID()}` };
    expect(upcastRecorded(foreign)).toBe(foreign);
  });
});

describe('stored v1 events replay into today\'s code', () => {
  let env: ApiTestEnv;
  let store: EventStore;

  beforeAll(async () => {
    env = await useApiTestEnv('upcasting');
    store = env.eventStore; // the production stack: protected (sealing, opening, upcasting)
    // The campaign (today's events), then the contact's stream exactly as the old engine stored it: raw rows.
    const context = { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId: fixture.workspaceId };
    const settings = { sender: null, replyTo: null, segmentId: 's', templateId: randomUUID(), templateVersion: 1, topic: 'newsletter' };
    await handleCommand(store, campaignDecider, campaignStreamId(fixture.campaignId), { type: 'CreateCampaign', data: { campaignId: fixture.campaignId, name: 'Old', ...settings, at: '2024-03-01T00:00:00.000Z' } }, context);
    const raw = createPostgresEventStore({ pool: env.pool });
    await raw.append(streamId, fixture.events, { expectedRevision: 'no_stream' });
    await raw.close();
  });

  it('the stored rows are schema version 1 (and plaintext, as written before sealing), and every read returns them as version 2', async () => {
    const { rows } = await env.pool.query<{ data: { campaignId?: string }; v: number }>(`SELECT data, (metadata->>'schemaVersion')::int AS v FROM es_events WHERE stream_id = $1 AND type = 'ContactUnsubscribed'`, [streamId]);
    expect(rows).toEqual([{ data: v1Unsubscribe.data, v: 1 }]);
    const created = await env.pool.query<{ email: string }>(`SELECT data->>'email' AS email FROM es_events WHERE stream_id = $1 AND type = 'ContactCreated'`, [streamId]);
    expect(created.rows).toEqual([{ email: 'legacy.lena@example.com' }]);
    const read = await store.readStream(streamId);
    const unsubscribe = read.status === 'found' ? read.events[2]! : undefined;
    expect(unsubscribe?.data).toEqual({ ...(v1Unsubscribe.data as object), campaignId: fixture.campaignId });
    expect(unsubscribe?.metadata.schemaVersion).toBe(2);
  });

  it('the decider folds them: repeating the unsubscribe decides nothing, a new subscribe is written as today\'s events', async () => {
    const context = () => ({ commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId: fixture.workspaceId });
    const again = await handleCommand(store, contactDecider, streamId, { type: 'UnsubscribeContact', data: { topic: 'newsletter', source: 'api', reason: null, at: '2025-01-01T00:00:00.000Z' } }, context());
    expect(again.events).toEqual([]);
    const back = await handleCommand(store, contactDecider, streamId, { type: 'SubscribeContact', data: { topic: 'newsletter', consentTextVersion: 'v2', source: 'form', at: '2025-01-02T00:00:00.000Z' } }, context());
    expect(back.events.map((e) => e.type)).toEqual(['ContactSubscribed']);
    const off = await handleCommand(store, contactDecider, streamId, { type: 'UnsubscribeContact', data: { topic: 'newsletter', source: 'api', reason: 'moved', at: '2025-01-03T00:00:00.000Z' } }, context());
    const { rows } = await env.pool.query<{ v: number; data: Record<string, unknown> }>(`SELECT (metadata->>'schemaVersion')::int AS v, data FROM es_events WHERE position = $1`, [String(off.position)]);
    expect(rows[0]).toMatchObject({ v: 2, data: { topic: 'newsletter', campaignId: null } });
  });

  it('the projections read them: the contact with its consent, and the campaign counts the v1 one-click unsubscribe', async () => {
    const events = await store.readAll({ maxCount: 1_000 });
    for (const projection of [contactsProjection, campaignsProjection, campaignStatsProjection]) {
      await applyBatch({ projection, db: env.db, store, log: silentLogger }, events.map((event) => ({ event, previous: null })));
    }
    const contact = await env.db.selectFrom('contacts').select(['email', 'status']).where('id', '=', fixture.contactId).executeTakeFirstOrThrow();
    expect(contact).toEqual({ email: 'legacy.lena@example.com', status: 'active' });
    const consent = await env.db.selectFrom('contact_consents').select(['status', 'reason']).where('contact_id', '=', fixture.contactId).executeTakeFirstOrThrow();
    expect(consent).toEqual({ status: 'unsubscribed', reason: 'moved' });
    const stats = await env.db.selectFrom('campaign_stats').select('unsubscribed').where('campaign_id', '=', fixture.campaignId).where('variant_key', '=', '').executeTakeFirstOrThrow();
    expect(stats.unsubscribed).toBe(1);
  });
});
