import { sql, type Kysely } from 'kysely';

/**
 * Import jobs and their row errors (src/sagas/import/tables.ts): operational state written by the import
 * runner, not by a projector.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE import_jobs (
      id uuid PRIMARY KEY,
      workspace_id text NOT NULL,
      file_name text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
      total_rows int,
      processed_rows int NOT NULL DEFAULT 0,
      created int NOT NULL DEFAULT 0,
      updated int NOT NULL DEFAULT 0,
      unchanged int NOT NULL DEFAULT 0,
      failed_rows int NOT NULL DEFAULT 0,
      created_by text NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz,
      error text
    )`.execute(db);
  await sql`CREATE INDEX import_jobs_page ON import_jobs (workspace_id, started_at DESC, id DESC)`.execute(db);
  await sql`
    CREATE TABLE import_row_errors (
      job_id uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
      seq int NOT NULL,
      row int NOT NULL,
      "column" text,
      reason text NOT NULL,
      PRIMARY KEY (job_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX import_row_errors_page ON import_row_errors (job_id, row, seq)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('import_row_errors').ifExists().execute();
  await db.schema.dropTable('import_jobs').ifExists().execute();
}
