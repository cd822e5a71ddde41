import { sql, type Kysely } from 'kysely';

/**
 * The key store of crypto-shredding (src/privacy/): one AES-256 data key per contact, held here, outside the
 * event log. Erasure sets `data_key` to NULL and keeps the row as a tombstone, so no new key can be made for the
 * contact (nothing readable can be written about it again) and a second erasure is recognised.
 *
 * NOT derived data: unlike the read models, this table cannot be rebuilt from the log. Losing it makes every
 * contact's personal data unreadable; back it up with the read database (see README, "Personal data and erasure").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE contact_keys (
      contact_id text PRIMARY KEY,
      workspace_id text NOT NULL,
      data_key bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      erased_at timestamptz,
      CHECK ((data_key IS NULL) = (erased_at IS NOT NULL)),
      CHECK (data_key IS NULL OR octet_length(data_key) = 32)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE contact_keys`.execute(db);
}
