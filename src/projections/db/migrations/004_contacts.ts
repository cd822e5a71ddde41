import { sql, type Kysely } from 'kysely';

/** Read models of the contacts slice (src/projections/contacts/tables.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE contacts (
      id uuid PRIMARY KEY,
      workspace_id text NOT NULL,
      email text NOT NULL,
      email_as_given text NOT NULL,
      external_id text,
      phone text,
      attributes jsonb NOT NULL DEFAULT '{}',
      tags text[] NOT NULL DEFAULT '{}',
      status text NOT NULL CHECK (status IN ('active', 'merged')),
      merged_into uuid,
      suppressed boolean NOT NULL DEFAULT false,
      suppression_reason text CHECK (suppression_reason IN ('hard_bounce', 'complaint', 'manual')),
      source text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      last_position int8 NOT NULL
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX contacts_email_active ON contacts (workspace_id, email) WHERE status = 'active'`.execute(db);
  await sql`CREATE INDEX contacts_page ON contacts (workspace_id, created_at, id)`.execute(db);
  await sql`CREATE INDEX contacts_tags ON contacts USING gin (tags)`.execute(db);
  await sql`CREATE INDEX contacts_attributes ON contacts USING gin (attributes jsonb_path_ops)`.execute(db);
  await sql`CREATE INDEX contacts_external_id ON contacts (workspace_id, external_id) WHERE external_id IS NOT NULL`.execute(db);
  await sql`CREATE INDEX contacts_phone ON contacts (workspace_id, phone) WHERE phone IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE contact_consents (
      workspace_id text NOT NULL,
      contact_id uuid NOT NULL,
      topic text NOT NULL,
      status text NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),
      source text NOT NULL,
      consent_text_version text,
      reason text,
      at timestamptz NOT NULL,
      changed_at timestamptz NOT NULL,
      last_position int8 NOT NULL,
      PRIMARY KEY (contact_id, topic)
    )`.execute(db);
  await sql`CREATE INDEX contact_consents_topic ON contact_consents (workspace_id, topic, status)`.execute(db);

  await sql`
    CREATE TABLE suppressions (
      workspace_id text NOT NULL,
      contact_id uuid PRIMARY KEY,
      email text NOT NULL,
      reason text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'manual')),
      detail text,
      at timestamptz NOT NULL,
      last_position int8 NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX suppressions_page ON suppressions (workspace_id, at, contact_id)`.execute(db);
  await sql`CREATE INDEX suppressions_email ON suppressions (workspace_id, email)`.execute(db);

  await sql`
    CREATE TABLE contact_attribute_keys (
      workspace_id text NOT NULL,
      key text NOT NULL,
      type text NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'date', 'list')),
      first_seen_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, key)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['contact_attribute_keys', 'suppressions', 'contact_consents', 'contacts']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
