import { sql, type Kysely } from 'kysely';

const counters = ['audience_size', 'sent', 'delivered', 'opened', 'unique_opens', 'clicked', 'unique_clicks', 'bounced', 'complained', 'unsubscribed', 'failed'];

/** Read models of the campaigns slice (src/projections/campaigns/tables.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE campaigns (
      id uuid PRIMARY KEY,
      workspace_id text NOT NULL,
      name text NOT NULL,
      status text NOT NULL CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
      sender_email text,
      sender_name text,
      reply_to text,
      segment_id text,
      template_id uuid,
      template_version integer,
      topic text,
      scheduled_at timestamptz,
      time_zone text,
      scheduled_revision integer,
      variants jsonb,
      winner jsonb,
      end_reason text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      launched_at timestamptz,
      launched_by text,
      completed_at timestamptz,
      revision integer NOT NULL,
      last_position int8 NOT NULL
    )`.execute(db);
  // Listing newest first, optionally by status; date filters on created_at and scheduled_at.
  await sql`CREATE INDEX campaigns_page ON campaigns (workspace_id, created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX campaigns_status_page ON campaigns (workspace_id, status, created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX campaigns_scheduled ON campaigns (workspace_id, scheduled_at) WHERE scheduled_at IS NOT NULL`.execute(db);
  // The scheduler's poll across workspaces: due campaigns first.
  await sql`CREATE INDEX campaigns_due ON campaigns (scheduled_at) WHERE status = 'scheduled'`.execute(db);

  await sql`
    CREATE TABLE campaign_stats (
      campaign_id uuid NOT NULL,
      variant_key text NOT NULL,
      workspace_id text NOT NULL,
      ${sql.raw(counters.map((c) => `${c} integer NOT NULL DEFAULT 0`).join(',\n      '))},
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (campaign_id, variant_key)
    )`.execute(db);

  await sql`
    CREATE TABLE campaign_engagement (
      campaign_id uuid NOT NULL,
      contact_id text NOT NULL,
      workspace_id text NOT NULL,
      variant_key text,
      sent_at timestamptz,
      opened_at timestamptz,
      clicked_at timestamptz,
      unsubscribed_at timestamptz,
      PRIMARY KEY (campaign_id, contact_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['campaign_engagement', 'campaign_stats', 'campaigns']) await db.schema.dropTable(table).ifExists().execute();
}
