import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import { contactIdOf } from './eventShape.js';
import { ContactsFold, type ConsentState, type ContactState, type SuppressionState } from './fold.js';

type Trx = Transaction<Database>;

/**
 * The contacts projection's applyMany: a batch in a fixed number of statements, whatever its size. Three SELECTs
 * load the batch's contacts, consents and suppressions; fold.ts applies the events to them in memory, exactly as
 * `apply` would; then each table gets at most one INSERT, one UPDATE/upsert and one DELETE of the final rows.
 * Rows travel as one JSON parameter each (json_to_recordset): a page of 5,000 contacts with 16 columns would
 * exceed PostgreSQL's 65,535 bind parameters as a VALUES list.
 *
 * Order of the contacts writes: deleted rows, then updated ones (a merge frees its address), then new ones, so
 * that an address freed and taken again within the batch does not trip the partial unique index on active
 * emails. Where `apply` of each event in turn would trip it, the fold has already refused the batch
 * (ContactsFold.claimEmail), and the runner redoes it event by event.
 */
export async function applyContactEvents(trx: Trx, events: readonly RecordedEvent[]): Promise<void> {
  const ids = [...new Set(events.map(contactIdOf))];
  const loaded = await load(trx, ids);
  const initial = {
    contacts: new Set(loaded.contacts.map((r) => r.id)),
    consents: new Set(loaded.consents.map(consentKey)),
    suppressions: new Set(loaded.suppressions.map((r) => r.contact_id)),
  };
  const fold = new ContactsFold(ids, loaded.contacts, loaded.consents, loaded.suppressions);
  for (const event of events) fold.apply(event);

  const inserted: ContactState[] = [];
  const updated: ContactState[] = [];
  const deletedContacts: string[] = [];
  const upsertedConsents: ConsentState[] = [];
  const deletedConsents: { contact_id: string; topic: string }[] = [];
  const upsertedSuppressions: SuppressionState[] = [];
  const deletedSuppressions: string[] = [];
  for (const id of ids) {
    const contact = fold.contacts.get(id) ?? null;
    if (contact === null) {
      if (initial.contacts.has(id)) deletedContacts.push(id);
    } else if (fold.dirtyContacts.has(id)) {
      (initial.contacts.has(id) ? updated : inserted).push(contact);
    }
    const consents = fold.consents.get(id)!;
    for (const consent of consents.values()) if (fold.dirtyConsents.has(consent)) upsertedConsents.push(consent);
    const suppression = fold.suppressions.get(id) ?? null;
    if (suppression !== null && fold.dirtySuppressions.has(id)) upsertedSuppressions.push(suppression);
    else if (suppression === null && initial.suppressions.has(id)) deletedSuppressions.push(id);
  }
  for (const key of initial.consents) {
    const [contactId, topic] = splitKey(key);
    if (!fold.consents.get(contactId)!.has(topic)) deletedConsents.push({ contact_id: contactId, topic });
  }

  if (deletedContacts.length > 0) await sql`DELETE FROM contacts WHERE id = ANY(${deletedContacts}::uuid[])`.execute(trx);
  if (updated.length > 0) {
    const set = CONTACT_NAMES.filter((c) => c !== 'id');
    await sql`UPDATE contacts SET (${columns(set)}) = (${sql.join(set.map((c) => sql.ref(`x.${c}`)))})
                FROM ${rowsOf(updated, CONTACT_RECORD)} WHERE contacts.id = x.id`.execute(trx);
  }
  if (inserted.length > 0) await sql`INSERT INTO contacts (${CONTACT_COLUMNS}) SELECT ${CONTACT_COLUMNS} FROM ${rowsOf(inserted, CONTACT_RECORD)}`.execute(trx);
  if (deletedConsents.length > 0) {
    await sql`DELETE FROM contact_consents USING ${rowsOf(deletedConsents, sql`x(contact_id uuid, topic text)`)}
               WHERE contact_consents.contact_id = x.contact_id AND contact_consents.topic = x.topic`.execute(trx);
  }
  if (upsertedConsents.length > 0) {
    await sql`INSERT INTO contact_consents (${CONSENT_COLUMNS}) SELECT ${CONSENT_COLUMNS} FROM ${rowsOf(upsertedConsents, CONSENT_RECORD)}
               ON CONFLICT (contact_id, topic) DO UPDATE SET ${updateSet(CONSENT_NAMES, ['contact_id', 'topic'])}`.execute(trx);
  }
  if (deletedSuppressions.length > 0) await sql`DELETE FROM suppressions WHERE contact_id = ANY(${deletedSuppressions}::uuid[])`.execute(trx);
  if (upsertedSuppressions.length > 0) {
    await sql`INSERT INTO suppressions (${SUPPRESSION_COLUMNS}) SELECT ${SUPPRESSION_COLUMNS} FROM ${rowsOf(upsertedSuppressions, SUPPRESSION_RECORD)}
               ON CONFLICT (contact_id) DO UPDATE SET ${updateSet(SUPPRESSION_NAMES, ['contact_id'])}`.execute(trx);
  }
  if (fold.attributeKeys.size > 0) {
    await sql`INSERT INTO contact_attribute_keys (workspace_id, key, type, first_seen_at)
               SELECT workspace_id, key, type, first_seen_at FROM ${rowsOf([...fold.attributeKeys.values()], sql`x(workspace_id text, key text, type text, first_seen_at timestamptz)`)}
               ON CONFLICT (workspace_id, key) DO NOTHING`.execute(trx);
  }
}

const CONTACT_NAMES = ['id', 'workspace_id', 'email', 'email_as_given', 'external_id', 'phone', 'attributes', 'tags', 'status', 'merged_into', 'suppressed', 'suppression_reason', 'source', 'created_at', 'updated_at', 'last_position'] as const;
const CONTACT_RECORD = sql`x(id uuid, workspace_id text, email text, email_as_given text, external_id text, phone text, attributes jsonb, tags text[], status text, merged_into uuid,
                             suppressed boolean, suppression_reason text, source text, created_at timestamptz, updated_at timestamptz, last_position int8)`;
const CONSENT_NAMES = ['workspace_id', 'contact_id', 'topic', 'status', 'source', 'consent_text_version', 'reason', 'at', 'changed_at', 'last_position'] as const;
const CONSENT_RECORD = sql`x(workspace_id text, contact_id uuid, topic text, status text, source text, consent_text_version text, reason text, at timestamptz, changed_at timestamptz, last_position int8)`;
const SUPPRESSION_NAMES = ['workspace_id', 'contact_id', 'email', 'reason', 'detail', 'at', 'last_position'] as const;
const SUPPRESSION_RECORD = sql`x(workspace_id text, contact_id uuid, email text, reason text, detail text, at timestamptz, last_position int8)`;
const columns = (names: readonly string[]) => sql.join(names.map((n) => sql.ref(n)));
/** `(a, b) = (excluded.a, excluded.b)` for every column but the conflict key. */
function updateSet(names: readonly string[], key: readonly string[]): RawBuilder<unknown> {
  const set = names.filter((n) => !key.includes(n));
  return sql`(${columns(set)}) = (${sql.join(set.map((n) => sql.ref(`excluded.${n}`)))})`;
}
const CONTACT_COLUMNS = columns(CONTACT_NAMES);
const CONSENT_COLUMNS = columns(CONSENT_NAMES);
const SUPPRESSION_COLUMNS = columns(SUPPRESSION_NAMES);

/** Rows as one JSON parameter, typed by `record` (`x(col type, …)`); bigint positions as JSON strings. */
function rowsOf(rows: readonly object[], record: RawBuilder<unknown>): RawBuilder<unknown> {
  const json = JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return sql`json_to_recordset(${json}::json) AS ${record}`;
}

const consentKey = (row: Pick<ConsentState, 'contact_id' | 'topic'>) => `${row.contact_id}\0${row.topic}`;
function splitKey(key: string): [string, string] {
  const at = key.indexOf('\0');
  return [key.slice(0, at), key.slice(at + 1)];
}

type Loaded<T> = Omit<T, 'last_position'> & { last_position: string };
const withPosition = <T extends { last_position: string }>(row: T) => ({ ...row, last_position: BigInt(row.last_position) });

/** The batch's rows as the fold keeps them: timestamps as PostgreSQL prints them (no precision lost). */
async function load(trx: Trx, ids: readonly string[]): Promise<{ contacts: ContactState[]; consents: ConsentState[]; suppressions: SuppressionState[] }> {
  const contacts = await sql<Loaded<ContactState>>`
    SELECT id, workspace_id, email, email_as_given, external_id, phone, attributes, tags, status, merged_into, suppressed, suppression_reason, source,
           created_at::text AS created_at, updated_at::text AS updated_at, last_position
      FROM contacts WHERE id = ANY(${ids}::uuid[])`.execute(trx);
  const consents = await sql<Loaded<ConsentState>>`
    SELECT workspace_id, contact_id, topic, status, source, consent_text_version, reason, at::text AS at, changed_at::text AS changed_at, last_position
      FROM contact_consents WHERE contact_id = ANY(${ids}::uuid[])`.execute(trx);
  const suppressions = await sql<Loaded<SuppressionState>>`
    SELECT workspace_id, contact_id, email, reason, detail, at::text AS at, last_position FROM suppressions WHERE contact_id = ANY(${ids}::uuid[])`.execute(trx);
  return { contacts: contacts.rows.map(withPosition), consents: consents.rows.map(withPosition), suppressions: suppressions.rows.map(withPosition) };
}
