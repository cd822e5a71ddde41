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
 * Rows travel as one array parameter per column (recordset): a page of 5,000 contacts with 16 columns would
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
    const set = CONTACT_SPEC.filter(([name]) => name !== 'id');
    await sql`UPDATE contacts SET (${columns(set)}) = (${sql.join(set.map(([name]) => sql.ref(`x.${name}`)))})
                FROM ${recordset(updated, CONTACT_SPEC)} WHERE contacts.id = x.id`.execute(trx);
  }
  if (inserted.length > 0) await sql`INSERT INTO contacts (${columns(CONTACT_SPEC)}) SELECT ${columns(CONTACT_SPEC)} FROM ${recordset(inserted, CONTACT_SPEC)}`.execute(trx);
  if (deletedConsents.length > 0) {
    await sql`DELETE FROM contact_consents USING ${recordset(deletedConsents, CONSENT_KEY_SPEC)}
               WHERE contact_consents.contact_id = x.contact_id AND contact_consents.topic = x.topic`.execute(trx);
  }
  if (upsertedConsents.length > 0) {
    await sql`INSERT INTO contact_consents (${columns(CONSENT_SPEC)}) SELECT ${columns(CONSENT_SPEC)} FROM ${recordset(upsertedConsents, CONSENT_SPEC)}
               ON CONFLICT (contact_id, topic) DO UPDATE SET ${updateSet(CONSENT_SPEC, ['contact_id', 'topic'])}`.execute(trx);
  }
  if (deletedSuppressions.length > 0) await sql`DELETE FROM suppressions WHERE contact_id = ANY(${deletedSuppressions}::uuid[])`.execute(trx);
  if (upsertedSuppressions.length > 0) {
    await sql`INSERT INTO suppressions (${columns(SUPPRESSION_SPEC)}) SELECT ${columns(SUPPRESSION_SPEC)} FROM ${recordset(upsertedSuppressions, SUPPRESSION_SPEC)}
               ON CONFLICT (contact_id) DO UPDATE SET ${updateSet(SUPPRESSION_SPEC, ['contact_id'])}`.execute(trx);
  }
  if (fold.attributeKeys.size > 0) {
    await sql`INSERT INTO contact_attribute_keys (${columns(ATTRIBUTE_KEY_SPEC)})
               SELECT ${columns(ATTRIBUTE_KEY_SPEC)} FROM ${recordset([...fold.attributeKeys.values()], ATTRIBUTE_KEY_SPEC)}
               ON CONFLICT (workspace_id, key) DO NOTHING`.execute(trx);
  }
}

type Column = readonly [name: string, type: string];
const CONTACT_SPEC: readonly Column[] = [
  ['id', 'uuid'], ['workspace_id', 'text'], ['email', 'text'], ['email_as_given', 'text'], ['external_id', 'text'], ['phone', 'text'], ['attributes', 'jsonb'],
  ['tags', 'text[]'], ['status', 'text'], ['merged_into', 'uuid'], ['suppressed', 'boolean'], ['suppression_reason', 'text'], ['source', 'text'],
  ['created_at', 'timestamptz'], ['updated_at', 'timestamptz'], ['last_position', 'int8'],
];
const CONSENT_SPEC: readonly Column[] = [
  ['workspace_id', 'text'], ['contact_id', 'uuid'], ['topic', 'text'], ['status', 'text'], ['source', 'text'], ['consent_text_version', 'text'], ['reason', 'text'],
  ['at', 'timestamptz'], ['changed_at', 'timestamptz'], ['last_position', 'int8'],
];
const SUPPRESSION_SPEC: readonly Column[] = [['workspace_id', 'text'], ['contact_id', 'uuid'], ['email', 'text'], ['reason', 'text'], ['detail', 'text'], ['at', 'timestamptz'], ['last_position', 'int8']];
const ATTRIBUTE_KEY_SPEC: readonly Column[] = [['workspace_id', 'text'], ['key', 'text'], ['type', 'text'], ['first_seen_at', 'timestamptz']];
const CONSENT_KEY_SPEC: readonly Column[] = [['contact_id', 'uuid'], ['topic', 'text']];

const columns = (spec: readonly Column[]) => sql.join(spec.map(([name]) => sql.ref(name)));
/** `(a, b) = (excluded.a, excluded.b)` for every column but the conflict key. */
function updateSet(spec: readonly Column[], key: readonly string[]): RawBuilder<unknown> {
  const set = spec.filter(([name]) => !key.includes(name));
  return sql`(${columns(set)}) = (${sql.join(set.map(([name]) => sql.ref(`excluded.${name}`)))})`;
}

/**
 * Rows as the derived table `x`, one array parameter per column through unnest (measured about 5× cheaper in
 * PostgreSQL than json_to_recordset over the same rows). A text[] column (tags) cannot be an array of arrays:
 * it travels as JSON text and is unpacked per row, in order.
 */
function recordset(rows: readonly object[], spec: readonly Column[]): RawBuilder<unknown> {
  const params = spec.map(([name, type]) => {
    const values = rows.map((row) => parameter((row as Record<string, unknown>)[name], type));
    return sql`${values}::${sql.raw(type === 'text[]' ? 'json' : type)}[]`;
  });
  const select = spec.map(([name, type]) =>
    type === 'text[]' ? sql`ARRAY(SELECT e.t FROM json_array_elements_text(${sql.ref(`u.${name}`)}) WITH ORDINALITY AS e(t, i) ORDER BY e.i) AS ${sql.ref(name)}` : sql.ref(`u.${name}`),
  );
  return sql`(SELECT ${sql.join(select)} FROM unnest(${sql.join(params)}) AS u(${columns(spec)})) AS x`;
}

function parameter(value: unknown, type: string): unknown {
  if (value === undefined || value === null) return null;
  if (type === 'jsonb' || type === 'text[]') return JSON.stringify(value);
  return typeof value === 'bigint' ? value.toString() : value;
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
