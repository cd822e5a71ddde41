import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AttributeValue } from '../../../src/domain/contacts/events.js';
import type { EventMetadata, EventStore } from '../../../src/eventstore/port.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { forgetContacts } from '../../../src/privacy/erasure.js';
import type { ContactKeyStore } from '../../../src/privacy/keyStore.js';
import { seededRandom } from '../../support/seededRandom.js';

/**
 * A seeded, realistic log of every contact event type over two workspaces, appended through the protected store
 * (personal data sealed; erased contacts' keys destroyed, so their earlier events read as erased markers):
 * creations with typed attributes (one key with two types across contacts, so the first writer matters) and
 * repeated tags, attribute changes and removals with phone and external id, tags, consents with several topics
 * and text versions, v2 and schema-version-1 unsubscribes, suppressions and their lifting, merges (ContactAbsorbed
 * on the survivor, ContactMerged on the duplicate, then the duplicate's address reused by a new contact),
 * erasures, timestamps with microseconds, and three poison events PostgreSQL refuses (parked by both paths).
 */
export interface MixedLog {
  readonly events: number;
  readonly erased: number;
  readonly merged: number;
}

const TOPICS = ['newsletter', 'product', 'events'];
const TAGS = ['vip', 'beta', 'churn-risk', 'partner'];

interface Contact {
  readonly id: string;
  readonly workspaceId: string;
  readonly email: string;
  state: 'active' | 'merged' | 'erased';
  revision: number;
}

export async function appendMixedLog(store: EventStore, db: Kysely<Database>, keys: ContactKeyStore, options: { contacts: number; steps: number; seed: number }): Promise<MixedLog> {
  const rnd = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const workspaces = [`ws-${randomUUID()}`, `ws-${randomUUID()}`];
  const contacts: Contact[] = [];
  let clock = Date.parse('2026-04-01T08:00:00Z');
  // Every third time carries microseconds: the batch must not round them through a JavaScript Date.
  const at = () => {
    clock += 1_000 + Math.floor(rnd() * 5_000);
    const iso = new Date(clock).toISOString();
    return rnd() < 0.33 ? iso.replace('Z', `${Math.floor(rnd() * 1_000).toString().padStart(3, '0')}Z`) : iso;
  };
  let events = 0;
  const append = async (c: Contact, type: string, data: Record<string, unknown>, schemaVersion = 1) => {
    const metadata: EventMetadata = { correlationId: randomUUID(), causationId: null, commandId: randomUUID(), actor: 'test', workspaceId: c.workspaceId, schemaVersion };
    await store.append(`contact-${c.id}`, [{ type, data, metadata }], { expectedRevision: c.revision < 0 ? 'no_stream' : c.revision });
    c.revision += 1;
    events += 1;
  };
  const attributes = (): Record<string, AttributeValue> => {
    const out: Record<string, AttributeValue> = {};
    if (rnd() < 0.7) out.plan = { type: 'string', value: pick(['free', 'pro', 'team']) };
    // `score` is a number for most contacts and a string for some: contact_attribute_keys keeps the first.
    if (rnd() < 0.6) out.score = rnd() < 0.85 ? { type: 'number', value: Math.round(rnd() * 1000) / 10 } : { type: 'string', value: 'high' };
    if (rnd() < 0.3) out.vip = { type: 'boolean', value: rnd() < 0.5 };
    if (rnd() < 0.3) out.birthday = { type: 'date', value: `19${50 + Math.floor(rnd() * 50)}-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}` };
    if (rnd() < 0.2) out[`langs${Math.floor(rnd() * 3)}`] = { type: 'list', value: ['en', 'de'].slice(0, 1 + Math.floor(rnd() * 2)) };
    return out;
  };
  const create = async (workspaceId: string, email: string) => {
    const c: Contact = { id: randomUUID(), workspaceId, email, state: 'active', revision: -1 };
    contacts.push(c);
    const tags = rnd() < 0.2 ? ['vip', 'vip'] : [pick(TAGS)];
    await append(c, 'ContactCreated', {
      contactId: c.id, email, emailAsGiven: email.toUpperCase(), externalId: rnd() < 0.5 ? `crm-${contacts.length}` : null, phone: rnd() < 0.4 ? `+4915${Math.floor(rnd() * 1e8)}` : null,
      attributes: attributes(), tags, source: pick(['api', 'import:job-1', 'form:signup']), createdAt: at(),
    });
  };
  for (let i = 0; i < options.contacts; i++) await create(workspaces[i % 2]!, `person${i}@example.com`);

  let erased = 0;
  let merged = 0;
  const active = () => contacts.filter((c) => c.state === 'active');
  for (let step = 0; step < options.steps; step++) {
    const c = pick(active());
    const roll = rnd();
    if (roll < 0.15) {
      const changes: Record<string, AttributeValue | null> = { ...attributes() };
      if (rnd() < 0.4) changes[pick(['plan', 'vip', 'birthday', 'langs0'])] = null;
      const extra: Record<string, unknown> = {};
      if (rnd() < 0.3) extra.phone = rnd() < 0.5 ? null : `+4917${Math.floor(rnd() * 1e8)}`;
      if (rnd() < 0.3) extra.externalId = rnd() < 0.5 ? null : `crm-x${step}`;
      await append(c, 'ContactAttributesChanged', { changes, ...extra, changedAt: at() });
    } else if (roll < 0.3) {
      await append(c, 'ContactTagged', { tag: pick(TAGS), at: at() });
    } else if (roll < 0.38) {
      await append(c, 'ContactUntagged', { tag: pick(TAGS), at: at() });
    } else if (roll < 0.55) {
      await append(c, 'ContactSubscribed', { topic: pick(TOPICS), source: pick(['form:signup', 'api']), consentTextVersion: pick(['v1', 'v2', 'v3']), at: at() });
    } else if (roll < 0.62) {
      await append(c, 'ContactUnsubscribed', { topic: pick(TOPICS), source: 'api', campaignId: null, reason: rnd() < 0.5 ? null : 'too many emails', at: at() }, 2);
    } else if (roll < 0.68) {
      // Schema version 1 as older engines stored it: no campaignId (the store upcasts it on read).
      await append(c, 'ContactUnsubscribed', { topic: pick(TOPICS), source: `one-click:${randomUUID()}`, reason: null, at: at() }, 1);
    } else if (roll < 0.75) {
      await append(c, 'ContactSuppressed', { reason: pick(['hard_bounce', 'complaint', 'manual'] as const), detail: rnd() < 0.5 ? null : `550 <${c.email}> unknown`, at: at() });
    } else if (roll < 0.8) {
      await append(c, 'ContactUnsuppressed', { detail: null, at: at() });
    } else if (roll < 0.87) {
      const survivors = active().filter((s) => s.workspaceId === c.workspaceId && s !== c);
      if (survivors.length === 0) continue;
      const survivor = pick(survivors);
      const mergedAt = at();
      await append(survivor, 'ContactAbsorbed', {
        duplicateId: c.id, duplicateEmail: c.email, attributes: attributes(), tags: [pick(TAGS), pick(TAGS)],
        // A topic in both lists: apply's two upserts at one position keep the subscription.
        subscriptions: [{ topic: 'newsletter', source: 'form:signup', consentTextVersion: 'v2', at: at() }, { topic: pick(TOPICS), source: 'api', consentTextVersion: 'v3', at: at() }],
        unsubscriptions: [{ topic: pick(TOPICS), at: at() }, { topic: 'newsletter', at: at() }],
        suppression: rnd() < 0.4 ? { reason: pick(['hard_bounce', 'complaint'] as const), at: at() } : null,
        phone: rnd() < 0.5 ? null : `+4916${Math.floor(rnd() * 1e8)}`, externalId: rnd() < 0.5 ? null : `crm-m${step}`, rule: 'email_canonical', at: mergedAt,
      });
      await append(c, 'ContactMerged', { survivorId: survivor.id, rule: 'email_canonical', at: mergedAt });
      c.state = 'merged';
      merged += 1;
      // The duplicate's address is free again (it is no longer an active contact).
      if (rnd() < 0.5) await create(c.workspaceId, c.email);
    } else if (roll < 0.92) {
      await append(c, 'ContactErased', { at: at() });
      await forgetContacts(db, keys, [{ contactId: c.id, workspaceId: c.workspaceId }]);
      c.state = 'erased';
      erased += 1;
      if (rnd() < 0.3) await create(c.workspaceId, `new-${c.email}`);
    } else {
      await create(pick(workspaces), `late${step}@example.com`);
    }
    // Three poison events in the middle of the log: PostgreSQL refuses them, both paths must park them alike.
    if (step === Math.floor(options.steps / 3)) await append(c, 'ContactTagged', { tag: 'vip', at: 'not a time' });
    if (step === Math.floor(options.steps / 2)) await append(c, 'ContactSuppressed', { reason: 'spam', detail: null, at: at() });
    // A second contact with the address of an active one (a race the commands cannot always prevent).
    if (step === Math.floor((options.steps * 2) / 3)) await create(c.workspaceId, pick(active().filter((a) => a.workspaceId === c.workspaceId)).email);
  }
  return { events, erased, merged };
}
