import { sql, type Kysely } from 'kysely';

/** Read models of the templates slice (src/projections/templates/tables.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE templates (
      id uuid PRIMARY KEY,
      workspace_id text NOT NULL,
      name text NOT NULL,
      current_version integer NOT NULL,
      archived boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      last_position int8 NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX templates_page ON templates (workspace_id, name, id)`.execute(db);

  await sql`
    CREATE TABLE template_versions (
      template_id uuid NOT NULL,
      workspace_id text NOT NULL,
      version integer NOT NULL,
      subject text NOT NULL,
      html text NOT NULL,
      text text,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (template_id, version)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('template_versions').ifExists().execute();
  await db.schema.dropTable('templates').ifExists().execute();
}
