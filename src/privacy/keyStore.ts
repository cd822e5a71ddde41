import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../projections/db/schema.js';

/** A contact's data key, or `erased` when it was destroyed. A contact absent from a lookup never had one. */
export type DataKey = Buffer | 'erased';

export interface KeyOwner {
  readonly contactId: string;
  readonly workspaceId: string;
}

/**
 * The per-contact data keys of crypto-shredding, in the read database (table contact_keys), outside the event
 * log. Every call is one statement for any number of contacts (an import batch asks for 1,000 at once); `ensure`
 * takes a second one only for keys another writer created at the same moment.
 *
 * No cache across calls, on purpose: an erasure in one process must be seen by every other process's next read,
 * and a cached key would keep decrypting there. One indexed lookup per read or append call is the price
 * (measured in bench/: the import batches 1,000 contacts per call).
 */
export class ContactKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The keys of these contacts (absent: never had one). */
  async lookup(contactIds: readonly string[]): Promise<Map<string, DataKey>> {
    const keys = new Map<string, DataKey>();
    if (contactIds.length === 0) return keys;
    const rows = await this.db
      .selectFrom('contact_keys')
      .select(['contact_id', 'data_key'])
      .where('contact_id', '=', sql<string>`ANY(${[...new Set(contactIds)]}::text[])`)
      .execute();
    for (const row of rows) keys.set(row.contact_id, row.data_key ?? 'erased');
    return keys;
  }

  /**
   * The keys of these contacts, creating the missing ones (one statement; concurrent creators agree on the first
   * key written). A key of another workspace is never handed out: that contact is returned as `erased`, so
   * nothing readable is written under it. An erased contact stays erased.
   */
  async ensure(owners: readonly KeyOwner[]): Promise<Map<string, DataKey>> {
    const unique = [...new Map(owners.map((o) => [o.contactId, o])).values()];
    const keys = new Map<string, DataKey>();
    if (unique.length === 0) return keys;
    const fresh = randomBytes(32 * unique.length);
    const { rows } = await sql<{ contact_id: string; workspace_id: string; data_key: Buffer | null }>`
      WITH wanted AS (
        SELECT * FROM unnest(${unique.map((o) => o.contactId)}::text[], ${unique.map((o) => o.workspaceId)}::text[], ${unique.map((_, i) => fresh.subarray(32 * i, 32 * i + 32))}::bytea[])
          AS w(contact_id, workspace_id, data_key)
      ), inserted AS (
        INSERT INTO contact_keys (contact_id, workspace_id, data_key)
        SELECT contact_id, workspace_id, data_key FROM wanted
        ON CONFLICT (contact_id) DO NOTHING
        RETURNING contact_id, workspace_id, data_key
      )
      SELECT contact_id, workspace_id, data_key FROM inserted
      UNION ALL
      -- Only the contacts that were not just inserted are looked up (an import of new contacts: none; before, each
      -- of its 1,000 contacts per batch cost an index probe that found nothing, ~28% of the statement, measured).
      SELECT k.contact_id, k.workspace_id, k.data_key
        FROM (SELECT contact_id FROM wanted EXCEPT SELECT contact_id FROM inserted) AS missing
        JOIN contact_keys k USING (contact_id)`.execute(this.db);
    const workspaceOf = new Map(unique.map((o) => [o.contactId, o.workspaceId]));
    const found = [...rows];
    // A key another writer inserted concurrently: the INSERT waited for its commit and skipped it, but this
    // statement's snapshot predates it, so the join above cannot see it. A new statement (new snapshot) can; without
    // this the contact would look erased and the event would be stored without its personal data.
    const returned = new Set(rows.map((row) => row.contact_id));
    const raced = unique.filter((o) => !returned.has(o.contactId)).map((o) => o.contactId);
    if (raced.length > 0) {
      const { rows: late } = await sql<{ contact_id: string; workspace_id: string; data_key: Buffer | null }>`
        SELECT contact_id, workspace_id, data_key FROM contact_keys WHERE contact_id = ANY(${raced}::text[])`.execute(this.db);
      if (late.length !== raced.length) throw new Error(`contact keys vanished while being created: ${raced.filter((id) => !late.some((r) => r.contact_id === id)).join(', ')}`);
      found.push(...late);
    }
    for (const row of found) keys.set(row.contact_id, row.data_key !== null && row.workspace_id === workspaceOf.get(row.contact_id) ? row.data_key : 'erased');
    return keys;
  }

  /**
   * Destroys the keys (crypto-shredding) and leaves tombstones; contacts that never had a key get one, so no key
   * can be made for them later. Idempotent: the first erasure's time is kept. Returns the contacts whose key
   * existed and was destroyed by this call.
   */
  async destroy(owners: readonly KeyOwner[], db: Kysely<Database> = this.db): Promise<string[]> {
    if (owners.length === 0) return [];
    const { rows } = await sql<{ contact_id: string; destroyed: boolean }>`
      WITH before AS (
        SELECT contact_id FROM contact_keys WHERE contact_id = ANY(${owners.map((o) => o.contactId)}::text[]) AND data_key IS NOT NULL
      )
      INSERT INTO contact_keys (contact_id, workspace_id, data_key, erased_at)
      SELECT o.contact_id, o.workspace_id, NULL, now() FROM unnest(${owners.map((o) => o.contactId)}::text[], ${owners.map((o) => o.workspaceId)}::text[]) AS o(contact_id, workspace_id)
      ON CONFLICT (contact_id) DO UPDATE SET data_key = NULL, erased_at = coalesce(contact_keys.erased_at, excluded.erased_at)
      RETURNING contact_id, contact_id IN (SELECT contact_id FROM before) AS destroyed`.execute(db);
    return rows.filter((r) => r.destroyed).map((r) => r.contact_id);
  }

}
