import { sql, type Kysely } from 'kysely';

/** The launch saga's delivery ledger and the bounces no ledger row matched (src/sagas/delivery/tables.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE delivery_ledger (
      idempotency_key text PRIMARY KEY,
      workspace_id text NOT NULL,
      campaign_id text NOT NULL,
      variant_key text NOT NULL,
      contact_id text NOT NULL,
      email text NOT NULL,
      message_id text NOT NULL UNIQUE,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      smtp_code integer,
      failure_kind text CHECK (failure_kind IN ('permanent', 'temporary', 'render')),
      claimed_by text,
      claimed_at timestamptz,
      sending_at timestamptz,
      sent_at timestamptz,
      failed_at timestamptz,
      campaign_revision integer,
      template_id text,
      template_version integer,
      subject text,
      content_hash text,
      recorded boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // Workers claim a campaign's pending rows; reconciliation looks for stale 'sending' rows.
  await sql`CREATE INDEX delivery_ledger_work ON delivery_ledger (campaign_id, status, idempotency_key)`.execute(db);
  await sql`CREATE INDEX delivery_ledger_sending ON delivery_ledger (sending_at) WHERE status = 'sending'`.execute(db);
  await sql`CREATE INDEX delivery_ledger_unrecorded ON delivery_ledger (campaign_id) WHERE NOT recorded AND status IN ('sent', 'failed')`.execute(db);

  await sql`
    CREATE TABLE unmatched_bounces (
      id bigserial PRIMARY KEY,
      workspace_id text NOT NULL,
      dedupe_key text NOT NULL UNIQUE,
      message_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('bounce', 'complaint')),
      bounce_type text CHECK (bounce_type IN ('hard', 'soft')),
      source text NOT NULL,
      reason text,
      occurred_at timestamptz NOT NULL,
      payload jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX unmatched_bounces_recent ON unmatched_bounces (workspace_id, received_at DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['unmatched_bounces', 'delivery_ledger']) await db.schema.dropTable(table).ifExists().execute();
}
