import type { Kysely, Selectable } from 'kysely';
import type { ActivityEventsTable, Database } from '../db/schema.js';

export type ActivityRow = Selectable<ActivityEventsTable>;

export interface ActivityFilter {
  readonly workspaceId: string;
  readonly category?: string | null;
  readonly streamId?: string | null;
  /** Exclusive: rows older (lower position) than this. */
  readonly before?: bigint | null;
  readonly limit: number;
}

/** The rows at these positions (of one workspace), oldest first. */
export async function listActivityAt(db: Kysely<Database>, workspaceId: string, positions: readonly string[]): Promise<ActivityRow[]> {
  if (positions.length === 0) return [];
  return db.selectFrom('activity_events').selectAll().where('workspace_id', '=', workspaceId).where('position', 'in', positions).orderBy('position').execute();
}

/** Newest first, one page plus one row to tell whether there is a next page. */
export async function listActivity(db: Kysely<Database>, filter: ActivityFilter): Promise<{ rows: ActivityRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('activity_events').selectAll().where('workspace_id', '=', filter.workspaceId);
  if (filter.category != null) query = query.where('category', '=', filter.category);
  if (filter.streamId != null) query = query.where('stream_id', '=', filter.streamId);
  if (filter.before != null) query = query.where('position', '<', filter.before.toString());
  const rows = await query.orderBy('position', 'desc').limit(filter.limit + 1).execute();
  return { rows: rows.slice(0, filter.limit), hasNextPage: rows.length > filter.limit };
}
