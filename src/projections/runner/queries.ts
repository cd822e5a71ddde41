import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, ProjectionParkedEventsTable } from '../db/schema.js';

export type ParkedEvent = Selectable<ProjectionParkedEventsTable>;

/** Parked (poison) events, newest first; optionally of one projection and of one workspace's events. */
export async function listParkedEvents(
  db: Kysely<Database>,
  options: { projection?: string | null; workspaceId?: string; limit?: number } = {},
): Promise<ParkedEvent[]> {
  let query = db.selectFrom('projection_parked_events').selectAll().orderBy('id', 'desc').limit(options.limit ?? 100);
  if (options.projection != null) query = query.where('projection', '=', options.projection);
  if (options.workspaceId !== undefined) query = query.where(sql<string>`envelope->'metadata'->>'workspaceId'`, '=', options.workspaceId);
  return query.execute();
}

export async function readProjectionCheckpoint(db: Kysely<Database>, projection: string): Promise<bigint | null> {
  const row = await db.selectFrom('projection_checkpoints').select('position').where('projection', '=', projection).executeTakeFirst();
  return row === undefined || row.position === '0' ? null : BigInt(row.position);
}

/**
 * Read-your-writes: resolves true once the projection has applied `position` (as returned by a mutation),
 * false when `timeoutMs` passes first.
 */
export async function waitForProjection(db: Kysely<Database>, projection: string, position: bigint, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checkpoint = await readProjectionCheckpoint(db, projection);
    if (checkpoint !== null && checkpoint >= position) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
