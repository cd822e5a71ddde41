import { sql, type Kysely, type SqlBool } from 'kysely';
import type { AttributeValue } from '../../domain/contacts/events.js';
import type { Database } from '../db/schema.js';
import type { TemplateRow, TemplateVersionRow } from './tables.js';

export interface TemplatePageCursor {
  readonly name: string;
  readonly id: string;
}

/** Templates by name (then id), one page plus one row to tell whether there is a next page. */
export async function listTemplates(
  db: Kysely<Database>,
  filter: { workspaceId: string; after: TemplatePageCursor | null; limit: number; includeArchived: boolean },
): Promise<{ rows: TemplateRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('templates').selectAll().where('workspace_id', '=', filter.workspaceId);
  if (!filter.includeArchived) query = query.where('archived', '=', false);
  if (filter.after !== null) {
    const { name, id } = filter.after;
    query = query.where((eb) => eb.or([eb('name', '>', name), eb.and([eb('name', '=', name), eb('id', '>', id)])]));
  }
  const rows = await query.orderBy('name').orderBy('id').limit(filter.limit + 1).execute();
  return { rows: rows.slice(0, filter.limit), hasNextPage: rows.length > filter.limit };
}

/** The workspace's templates among `ids` (one query for many: the campaign → template loader). */
export async function templatesByIds(db: Kysely<Database>, workspaceId: string, ids: readonly string[]): Promise<TemplateRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('templates').selectAll().where('workspace_id', '=', workspaceId).where('id', 'in', ids).execute();
}

/** One version's content; the current version when `version` is null. Undefined when unknown in the workspace. */
export async function findTemplateVersion(db: Kysely<Database>, workspaceId: string, templateId: string, version: number | null): Promise<TemplateVersionRow | undefined> {
  let query = db.selectFrom('template_versions as v').selectAll('v').where('v.workspace_id', '=', workspaceId).where('v.template_id', '=', templateId);
  query =
    version === null
      ? query.innerJoin('templates as t', (join) => join.onRef('t.id', '=', 'v.template_id').onRef('t.current_version', '=', 'v.version'))
      : query.where('v.version', '=', version);
  return query.executeTakeFirst();
}

/** Every version of a template, newest first. */
export function listTemplateVersions(db: Kysely<Database>, workspaceId: string, templateId: string): Promise<TemplateVersionRow[]> {
  return db.selectFrom('template_versions').selectAll().where('workspace_id', '=', workspaceId).where('template_id', '=', templateId).orderBy('version', 'desc').execute();
}

/**
 * The workspace's contact attribute keys, from the contacts slice's `contact_attribute_keys(workspace_id, key,
 * type)`: the variables a template may use as `contact.<key>`. While that table does not exist, there are none.
 */
export async function contactAttributeKeys(db: Kysely<Database>, workspaceId: string): Promise<ReadonlySet<string>> {
  const exists = await sql<{ found: boolean }>`SELECT to_regclass('contact_attribute_keys') IS NOT NULL AS found`.execute(db);
  if (exists.rows[0]?.found !== true) return new Set();
  const rows = await sql<{ key: string }>`SELECT key FROM contact_attribute_keys WHERE workspace_id = ${workspaceId}`.execute(db);
  return new Set(rows.rows.map((r) => r.key));
}

/** Versions by (template id, version) in one query: the Template.subject/html/text loader. */
export async function templateVersionsByKeys(
  db: Kysely<Database>,
  workspaceId: string,
  keys: readonly { readonly id: string; readonly version: number }[],
): Promise<TemplateVersionRow[]> {
  if (keys.length === 0) return [];
  const pairs = sql.join(keys.map((k) => sql`(${k.id}::uuid, ${k.version}::integer)`));
  return db
    .selectFrom('template_versions')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where(sql<SqlBool>`(template_id, version) IN (${pairs})`)
    .execute();
}

/**
 * A contact for a preview, from the contacts slice's `contacts` read model (undefined while that table does not
 * exist, or when the workspace has no such active contact).
 */
export async function contactForPreview(
  db: Kysely<Database>,
  workspaceId: string,
  contactId: string,
): Promise<{ email: string; tags: string[]; attributes: Record<string, AttributeValue> } | undefined> {
  const exists = await sql<{ found: boolean }>`SELECT to_regclass('contacts') IS NOT NULL AS found`.execute(db);
  if (exists.rows[0]?.found !== true) return undefined;
  const rows = await sql<{ email: string; tags: string[]; attributes: Record<string, AttributeValue> }>`
    SELECT email, tags, attributes FROM contacts WHERE workspace_id = ${workspaceId} AND id = ${contactId}::uuid AND status = 'active'`.execute(db);
  return rows.rows[0];
}
