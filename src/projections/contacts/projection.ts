import { sql, type Transaction, type UpdateObject } from 'kysely';
import { CONTACT_EVENT_TYPES, type AttributeValue, type ContactEvent } from '../../domain/contacts/events.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/projectionRunner.js';
import { applyContactEvents } from './batch.js';
import type { ConsentState } from './fold.js';

export const CONTACTS_PROJECTION = 'contacts';

type Trx = Transaction<Database>;
type ContactUpdate = UpdateObject<Database, 'contacts'>;

/**
 * Contacts, their consents, the suppression list and the workspace's attribute schema, from contact events.
 *
 * Idempotent by construction: every event first updates its contact's row guarded by `last_position < position`
 * and writes the other tables only when that row moved, so re-applying an event (a replay over existing rows)
 * changes nothing. Writes are set-based (jsonb `||`/`-`, array functions, upserts): no read-modify-write.
 *
 * `applyMany` (batch.ts, fold.ts) does the same for a whole batch in a few statements: it folds the batch's
 * contacts in memory, mirroring every statement below, and writes their final rows. A change here must be made
 * in fold.ts too; test/projections/contacts/applyMany.test.ts compares the two on a mixed log.
 */
export const contactsProjection: Projection = {
  name: CONTACTS_PROJECTION,
  tables: ['contacts', 'contact_consents', 'suppressions', 'contact_attribute_keys'],
  eventTypes: CONTACT_EVENT_TYPES,
  async apply(trx, recorded) {
    const event = recorded as unknown as ContactEvent & RecordedEvent;
    const contactId = recorded.streamId.slice('contact-'.length);
    const workspaceId = recorded.metadata.workspaceId;
    const position = recorded.position.toString();
    const touch = (set: ContactUpdate, at: string) => touchContact(trx, contactId, position, { ...set, updated_at: at });

    switch (event.type) {
      case 'ContactCreated': {
        const d = event.data;
        const inserted = await trx
          .insertInto('contacts')
          .values({
            id: contactId,
            workspace_id: workspaceId,
            email: d.email,
            email_as_given: d.emailAsGiven,
            external_id: d.externalId,
            phone: d.phone,
            attributes: JSON.stringify(d.attributes),
            tags: [...d.tags],
            status: 'active',
            merged_into: null,
            suppressed: false,
            suppression_reason: null,
            source: d.source,
            created_at: d.createdAt,
            updated_at: d.createdAt,
            last_position: position,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted !== undefined) await recordAttributeKeys(trx, workspaceId, d.attributes, d.createdAt);
        return;
      }
      case 'ContactAttributesChanged': {
        const d = event.data;
        const set: Record<string, AttributeValue> = {};
        const removed: string[] = [];
        for (const [key, value] of Object.entries(d.changes)) {
          if (value === null) removed.push(key);
          else set[key] = value;
        }
        const changes: ContactUpdate = { attributes: sql<string>`(attributes || ${JSON.stringify(set)}::jsonb) - ${removed}::text[]` };
        if (d.phone !== undefined) changes.phone = d.phone;
        if (d.externalId !== undefined) changes.external_id = d.externalId;
        if ((await touch(changes, d.changedAt)) !== null) await recordAttributeKeys(trx, workspaceId, set, d.changedAt);
        return;
      }
      case 'ContactTagged': {
        const { tag, at } = event.data;
        await touch({ tags: sql<string[]>`CASE WHEN ${tag} = ANY(tags) THEN tags ELSE array_append(tags, ${tag}::text) END` }, at);
        return;
      }
      case 'ContactUntagged':
        await touch({ tags: sql<string[]>`array_remove(tags, ${event.data.tag}::text)` }, event.data.at);
        return;
      case 'ContactSubscribed': {
        const { topic, source, consentTextVersion, at } = event.data;
        if ((await touch({}, at)) === null) return;
        await upsertConsents(trx, [{ workspace_id: workspaceId, contact_id: contactId, topic, status: 'subscribed', source, consent_text_version: consentTextVersion, reason: null, at, changed_at: at, last_position: position }]);
        return;
      }
      case 'ContactUnsubscribed': {
        const { topic, source, reason, at } = event.data;
        if ((await touch({}, at)) === null) return;
        await upsertConsents(trx, [{ workspace_id: workspaceId, contact_id: contactId, topic, status: 'unsubscribed', source, consent_text_version: null, reason, at, changed_at: at, last_position: position }]);
        return;
      }
      case 'ContactSuppressed': {
        const { reason, detail, at } = event.data;
        const contact = await touch({ suppressed: true, suppression_reason: reason }, at);
        if (contact === null) return;
        await upsertSuppression(trx, { workspace_id: workspaceId, contact_id: contactId, email: contact.email, reason, detail, at, last_position: position });
        return;
      }
      case 'ContactUnsuppressed':
        if ((await touch({ suppressed: false, suppression_reason: null }, event.data.at)) === null) return;
        await trx.deleteFrom('suppressions').where('contact_id', '=', contactId).execute();
        return;
      case 'ContactMerged':
        // The duplicate is no longer a contact: it leaves the suppression list (the survivor took its suppression).
        if ((await touch({ status: 'merged', merged_into: event.data.survivorId }, event.data.at)) === null) return;
        await trx.deleteFrom('suppressions').where('contact_id', '=', contactId).execute();
        return;
      case 'ContactAbsorbed':
        await applyAbsorbed(trx, event.data, { contactId, workspaceId, position, touch });
        return;
      case 'ContactErased':
        // GDPR erasure: the read model forgets the person (its stream refuses every later command, so no later
        // event can bring the row back; a replay reads the earlier events as erased markers anyway).
        await trx.deleteFrom('contact_consents').where('contact_id', '=', contactId).execute();
        await trx.deleteFrom('suppressions').where('contact_id', '=', contactId).execute();
        await trx.deleteFrom('contacts').where('id', '=', contactId).execute();
        return;
    }
  },
  applyMany: applyContactEvents,
};

interface AbsorbContext {
  readonly contactId: string;
  readonly workspaceId: string;
  readonly position: string;
  readonly touch: (set: ContactUpdate, at: string) => Promise<{ email: string } | null>;
}

/** The survivor of a merge takes over what the event lists (the merge policy was applied when it was decided). */
async function applyAbsorbed(trx: Trx, d: Extract<ContactEvent, { type: 'ContactAbsorbed' }>['data'], c: AbsorbContext): Promise<void> {
  const set: ContactUpdate = {
    attributes: sql<string>`attributes || ${JSON.stringify(d.attributes)}::jsonb`,
    tags: sql<string[]>`tags || ARRAY(SELECT t FROM unnest(${[...d.tags]}::text[]) WITH ORDINALITY AS n(t, i) WHERE NOT t = ANY(contacts.tags) ORDER BY i)`,
    phone: sql<string | null>`coalesce(${d.phone}::text, phone)`,
    external_id: sql<string | null>`coalesce(${d.externalId}::text, external_id)`,
  };
  if (d.suppression !== null) Object.assign(set, { suppressed: true, suppression_reason: d.suppression.reason });
  const survivor = await c.touch(set, d.at);
  if (survivor === null) return;
  const base = { workspace_id: c.workspaceId, contact_id: c.contactId, last_position: c.position };
  await upsertConsents(trx, [
    ...d.subscriptions.map((s) => ({ ...base, topic: s.topic, status: 'subscribed' as const, source: s.source, consent_text_version: s.consentTextVersion, reason: null, at: s.at, changed_at: s.at })),
  ]);
  await upsertConsents(trx, [
    ...d.unsubscriptions.map((u) => ({ ...base, topic: u.topic, status: 'unsubscribed' as const, source: `merge:${d.duplicateId}`, consent_text_version: null, reason: null, at: u.at, changed_at: u.at })),
  ]);
  if (d.suppression !== null) {
    await upsertSuppression(trx, { ...base, email: survivor.email, reason: d.suppression.reason, detail: `merged from ${d.duplicateEmail}`, at: d.suppression.at });
  }
  await recordAttributeKeys(trx, c.workspaceId, d.attributes, d.at);
}

/** Moves the contact's row to `position` (with `set`); null when the row is missing or already there. */
async function touchContact(trx: Trx, contactId: string, position: string, set: ContactUpdate): Promise<{ email: string } | null> {
  const row = await trx
    .updateTable('contacts')
    .set({ ...set, last_position: position })
    .where('id', '=', contactId)
    .where('last_position', '<', position)
    .returning('email')
    .executeTakeFirst();
  return row ?? null;
}

/** A consent row as written: the fold's state (fold.ts) with the position as text for pg. */
type ConsentValues = Omit<ConsentState, 'last_position'> & { last_position: string };

/** Upserts current consents; `changed_at` moves only when the status flips, the consent text version survives an unsubscribe. */
async function upsertConsents(trx: Trx, rows: readonly ConsentValues[]): Promise<void> {
  const unique = [...new Map(rows.map((r) => [r.topic, r])).values()];
  if (unique.length === 0) return;
  await trx
    .insertInto('contact_consents')
    .values(unique)
    .onConflict((oc) =>
      oc
        .columns(['contact_id', 'topic'])
        .doUpdateSet({
          status: sql`excluded.status`,
          source: sql`excluded.source`,
          consent_text_version: sql`coalesce(excluded.consent_text_version, contact_consents.consent_text_version)`,
          reason: sql`excluded.reason`,
          at: sql`excluded.at`,
          changed_at: sql`CASE WHEN contact_consents.status = excluded.status THEN contact_consents.changed_at ELSE excluded.changed_at END`,
          last_position: sql`excluded.last_position`,
        })
        .where('contact_consents.last_position', '<', sql<string>`excluded.last_position`),
    )
    .execute();
}

interface SuppressionValues {
  workspace_id: string;
  contact_id: string;
  email: string;
  reason: 'hard_bounce' | 'complaint' | 'manual';
  detail: string | null;
  at: string;
  last_position: string;
}

async function upsertSuppression(trx: Trx, row: SuppressionValues): Promise<void> {
  await trx
    .insertInto('suppressions')
    .values(row)
    .onConflict((oc) =>
      oc
        .column('contact_id')
        .doUpdateSet({ reason: sql`excluded.reason`, detail: sql`excluded.detail`, at: sql`excluded.at`, last_position: sql`excluded.last_position` })
        .where('suppressions.last_position', '<', sql<string>`excluded.last_position`),
    )
    .execute();
}

/** The contact schema: the first type seen for a key wins. */
async function recordAttributeKeys(trx: Trx, workspaceId: string, attributes: Readonly<Record<string, AttributeValue>>, at: string): Promise<void> {
  const rows = Object.entries(attributes).map(([key, value]) => ({ workspace_id: workspaceId, key, type: value.type, first_seen_at: at }));
  if (rows.length === 0) return;
  await trx
    .insertInto('contact_attribute_keys')
    .values(rows)
    .onConflict((oc) => oc.columns(['workspace_id', 'key']).doNothing())
    .execute();
}
