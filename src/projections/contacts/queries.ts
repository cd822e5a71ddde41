import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { AttributeType } from '../../domain/contacts/events.js';
import type { Database } from '../db/schema.js';
import type { ContactAttributeKeyRow, ContactConsentRow, ContactRow, SuppressionRow } from './tables.js';

/**
 * An attribute condition, already checked by the caller (src/api/graphql/contacts.ts):
 * - `eq` / `neq`: same type-less value (`neq` also matches contacts without the attribute);
 * - `gt` / `lt`: a number compares with number attributes; a string compares as text (code-point order) with
 *   string and date attributes, which orders ISO dates correctly (a calendar date sorts before any time of it);
 * - `contains`: a list attribute holding the value, or a string attribute containing it (case-insensitive);
 * - `exists`: the contact has the attribute.
 */
export type AttributeCondition =
  | { readonly key: string; readonly op: 'eq' | 'neq'; readonly value: string | number | boolean }
  | { readonly key: string; readonly op: 'gt' | 'lt'; readonly value: string | number }
  | { readonly key: string; readonly op: 'contains'; readonly value: string }
  | { readonly key: string; readonly op: 'exists' };

export interface ContactFilter {
  readonly workspaceId: string;
  /** Normalized email. */
  readonly email?: string | null;
  readonly tag?: string | null;
  readonly attribute?: AttributeCondition | null;
  readonly subscribedTo?: string | null;
  readonly suppressed?: boolean | null;
  /** Default: active contacts only. */
  readonly status?: 'active' | 'merged' | null;
}

export interface ContactCursor {
  readonly createdAt: Date;
  readonly id: string;
}

export type ContactListRow = ContactRow & { suppression_detail: string | null; suppressed_at: Date | null };

/** Oldest first (created_at, id), one page plus one row to tell whether there is a next page. */
export async function listContacts(
  db: Kysely<Database>,
  filter: ContactFilter,
  page: { readonly after?: ContactCursor | null; readonly limit: number },
): Promise<{ rows: ContactListRow[]; hasNextPage: boolean }> {
  let query = selectContacts(db).where('contacts.workspace_id', '=', filter.workspaceId).where('contacts.status', '=', filter.status ?? 'active');
  if (filter.email != null) query = query.where('contacts.email', '=', filter.email);
  if (filter.tag != null) query = query.where(sql<SqlBool>`contacts.tags @> ARRAY[${filter.tag}::text]`);
  if (filter.suppressed != null) query = query.where('contacts.suppressed', '=', filter.suppressed);
  if (filter.attribute != null) query = query.where(attributePredicate(filter.attribute));
  if (filter.subscribedTo != null) {
    const topic = filter.subscribedTo;
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('contact_consents as cc')
          .select(sql`1`.as('one'))
          .whereRef('cc.contact_id', '=', 'contacts.id')
          .where('cc.topic', '=', topic)
          .where('cc.status', '=', 'subscribed'),
      ),
    );
  }
  if (page.after != null) query = query.where(sql<SqlBool>`(contacts.created_at, contacts.id) > (${page.after.createdAt}, ${page.after.id}::uuid)`);
  const rows = await query.orderBy('contacts.created_at').orderBy('contacts.id').limit(page.limit + 1).execute();
  return { rows: rows.slice(0, page.limit), hasNextPage: rows.length > page.limit };
}

export async function findContact(db: Kysely<Database>, workspaceId: string, id: string): Promise<ContactListRow | undefined> {
  return selectContacts(db).where('contacts.workspace_id', '=', workspaceId).where('contacts.id', '=', id).executeTakeFirst();
}

function selectContacts(db: Kysely<Database>) {
  return db
    .selectFrom('contacts')
    .leftJoin('suppressions', 'suppressions.contact_id', 'contacts.id')
    .selectAll('contacts')
    .select(['suppressions.detail as suppression_detail', 'suppressions.at as suppressed_at']);
}

function attributePredicate(condition: AttributeCondition): Expression<SqlBool> {
  const { key } = condition;
  const has = (value: unknown) => sql<SqlBool>`contacts.attributes @> ${JSON.stringify({ [key]: { value } })}::jsonb`;
  const typeOf = sql`contacts.attributes -> ${key} ->> 'type'`;
  const valueOf = sql`contacts.attributes -> ${key} ->> 'value'`;
  switch (condition.op) {
    case 'eq':
      return has(condition.value);
    case 'neq':
      return sql<SqlBool>`NOT (${has(condition.value)})`;
    case 'exists':
      return sql<SqlBool>`contacts.attributes ? ${key}`;
    case 'contains': {
      const pattern = `%${condition.value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return sql<SqlBool>`(${has([condition.value])} OR (${typeOf} = 'string' AND ${valueOf} ILIKE ${pattern}))`;
    }
    case 'gt':
    case 'lt': {
      const operator = sql.raw(condition.op === 'gt' ? '>' : '<');
      // CASE guarantees the cast is evaluated only for values of the right type.
      return typeof condition.value === 'number'
        ? sql<SqlBool>`CASE WHEN ${typeOf} = 'number' THEN (${valueOf})::numeric ${operator} ${condition.value}::numeric ELSE false END`
        : sql<SqlBool>`CASE WHEN ${typeOf} IN ('string', 'date') THEN (${valueOf}) COLLATE "C" ${operator} ${condition.value}::text COLLATE "C" ELSE false END`;
    }
  }
}

/** Current consents of some contacts (one query for a page of contacts). */
export async function listConsents(db: Kysely<Database>, workspaceId: string, contactIds: readonly string[]): Promise<ContactConsentRow[]> {
  if (contactIds.length === 0) return [];
  return db
    .selectFrom('contact_consents')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('contact_id', 'in', contactIds)
    .orderBy('contact_id')
    .orderBy('topic')
    .execute();
}

export interface SuppressionCursor {
  readonly at: Date;
  readonly contactId: string;
}

/** The suppression list, oldest first. */
export async function listSuppressions(
  db: Kysely<Database>,
  workspaceId: string,
  page: { readonly after?: SuppressionCursor | null; readonly limit: number },
): Promise<{ rows: SuppressionRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('suppressions').selectAll().where('workspace_id', '=', workspaceId);
  if (page.after != null) query = query.where(sql<SqlBool>`(at, contact_id) > (${page.after.at}, ${page.after.contactId}::uuid)`);
  const rows = await query.orderBy('at').orderBy('contact_id').limit(page.limit + 1).execute();
  return { rows: rows.slice(0, page.limit), hasNextPage: rows.length > page.limit };
}

export async function listAttributeKeys(db: Kysely<Database>, workspaceId: string): Promise<ContactAttributeKeyRow[]> {
  return db.selectFrom('contact_attribute_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('key').execute();
}

/** The schema's type of each of `keys` that the workspace has used before. */
export async function attributeKeyTypes(db: Kysely<Database>, workspaceId: string, keys: readonly string[]): Promise<Map<string, AttributeType>> {
  if (keys.length === 0) return new Map();
  const rows = await db.selectFrom('contact_attribute_keys').select(['key', 'type']).where('workspace_id', '=', workspaceId).where('key', 'in', keys).execute();
  return new Map(rows.map((r) => [r.key, r.type]));
}
