import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('activity_events')
    .addColumn('position', 'int8', (c) => c.primaryKey())
    .addColumn('event_id', 'uuid', (c) => c.notNull())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('stream_id', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('revision', 'int8', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('correlation_id', 'text', (c) => c.notNull())
    .addColumn('command_id', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`CREATE INDEX activity_events_workspace ON activity_events (workspace_id, position DESC)`.execute(db);
  await sql`CREATE INDEX activity_events_stream ON activity_events (workspace_id, stream_id, position DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('activity_events').execute();
}
