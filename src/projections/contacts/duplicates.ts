import { sql, type Kysely, type RawBuilder } from 'kysely';
import { EMAIL_PROVIDERS, groupDuplicates, type DedupeCandidate, type DedupeRule, type DuplicateGroup } from '../../domain/contacts/dedupe.js';
import type { Database } from '../db/schema.js';

/**
 * Duplicate candidates from the contacts read model (active contacts only). The database finds the keys that
 * two or more contacts share, per rule, and returns only those contacts; the pure rules in
 * src/domain/contacts/dedupe.ts then group them (transitively across rules) and pick the survivors.
 */

/** canonicalEmail() of src/domain/contacts/dedupe.ts as SQL over contacts.email (the provider table is shared). */
export function canonicalEmailSql(): RawBuilder<string> {
  const local = sql`split_part(contacts.email, '@', 1)`;
  const domain = sql`split_part(contacts.email, '@', 2)`;
  const cases = Object.entries(EMAIL_PROVIDERS).map(([from, p]) => {
    let folded = p.plusTags ? sql`split_part(${local}, '+', 1)` : local;
    if (p.ignoreDots) folded = sql`replace(${folded}, '.', '')`;
    return sql`WHEN ${from}::text THEN coalesce(nullif(${folded}, ''), ${local}) || '@' || ${p.domain}::text`;
  });
  return sql<string>`lower(CASE ${domain} ${sql.join(cases, sql` `)} ELSE contacts.email END)`;
}

function keyOf(rule: DedupeRule): RawBuilder<string | null> {
  switch (rule) {
    case 'phone':
      return sql<string | null>`contacts.phone`;
    case 'external_id':
      return sql<string | null>`nullif(contacts.external_id, '')`;
    case 'email_canonical':
      return canonicalEmailSql();
  }
}

export interface DuplicateSearch {
  readonly groups: DuplicateGroup[];
  /** More shared keys exist than `maxKeys` per rule: run again (after merging) for the rest. */
  readonly truncated: boolean;
}

/**
 * The workspace's duplicate groups by `rules`, at most `maxKeys` shared keys per rule (in key order), so that a
 * huge backlog is worked off in rounds.
 */
export async function findDuplicateGroups(db: Kysely<Database>, workspaceId: string, rules: readonly DedupeRule[], maxKeys: number): Promise<DuplicateSearch> {
  const candidates = new Map<string, DedupeCandidate>();
  let truncated = false;
  for (const rule of rules) {
    const key = keyOf(rule);
    const { rows } = await sql<{ id: string; email: string; phone: string | null; external_id: string | null; created_at: Date; key: string }>`
      WITH keyed AS (
        SELECT contacts.id, contacts.email, contacts.phone, contacts.external_id, contacts.created_at, ${key} AS key
          FROM contacts
         WHERE contacts.workspace_id = ${workspaceId} AND contacts.status = 'active'
      ), shared AS (
        SELECT key FROM keyed WHERE key IS NOT NULL GROUP BY key HAVING count(*) > 1 ORDER BY key LIMIT ${maxKeys + 1}
      )
      SELECT keyed.* FROM keyed JOIN shared USING (key) ORDER BY keyed.key, keyed.created_at, keyed.id`.execute(db);
    const keys = [...new Set(rows.map((r) => r.key))];
    if (keys.length > maxKeys) truncated = true;
    const kept = new Set(keys.slice(0, maxKeys));
    for (const r of rows) {
      if (!kept.has(r.key)) continue;
      candidates.set(r.id, { id: r.id, email: r.email, phone: r.phone, externalId: r.external_id, createdAt: r.created_at.toISOString() });
    }
  }
  return { groups: groupDuplicates([...candidates.values()], rules), truncated };
}
