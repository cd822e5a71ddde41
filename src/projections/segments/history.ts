import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * Segment membership history: who was in a segment when (table segment_membership_history, migration
 * 011_temporal). Written in the same transaction as the memberships themselves — by reevaluateContact, by the
 * set-based full evaluation and on SegmentDeleted — with the position and time of the event that caused each
 * change, so a replay of the segments projection from position 0 writes the same history.
 *
 * Why a history read model rather than re-evaluating the rules as of T: the rules as of T would have to be
 * evaluated against every contact of the workspace folded as of T (one stream read per contact), time-relative
 * rules (`within_last_days`) and `inSegment` chains would be judged differently than the projection judged them
 * then, and the answer would not be what a launch at T actually froze. The history records what the engine
 * itself held, at the cost of one row per entry into a segment.
 */

export interface MembershipChange {
  readonly workspaceId: string;
  readonly at: Date;
  readonly position: bigint | string;
}

export async function recordEntered(db: Kysely<Database>, change: MembershipChange, segmentIds: readonly string[], contactId: string): Promise<void> {
  if (segmentIds.length === 0) return;
  await db
    .insertInto('segment_membership_history')
    .values(segmentIds.map((segmentId) => ({ workspace_id: change.workspaceId, segment_id: segmentId, contact_id: contactId, entered_at: change.at, entered_position: change.position.toString() })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Closes the open stays of the contact in these segments (or of every member, when contactId is null). */
export async function recordLeft(db: Kysely<Database>, change: MembershipChange, segmentIds: readonly string[], contactId: string | null): Promise<void> {
  if (segmentIds.length === 0) return;
  let update = db
    .updateTable('segment_membership_history')
    .set({ left_at: change.at, left_position: change.position.toString() })
    .where('workspace_id', '=', change.workspaceId)
    .where('segment_id', 'in', segmentIds)
    .where('left_position', 'is', null);
  if (contactId !== null) update = update.where('contact_id', '=', contactId);
  await update.execute();
}

export interface MemberAsOf {
  readonly contactId: string;
  readonly enteredAt: Date;
  readonly enteredPosition: string;
}

/** The segment's members at `asOf` (entered at or before it, not left by then), by contact id, after `afterContactId`. */
export async function membersAsOf(db: Kysely<Database>, workspaceId: string, segmentId: string, asOf: Date, page: { first: number; afterContactId?: string | null }) {
  let query = db
    .selectFrom('segment_membership_history')
    .select(['contact_id', 'entered_at', 'entered_position'])
    .where('workspace_id', '=', workspaceId)
    .where('segment_id', '=', segmentId)
    .where('entered_at', '<=', asOf)
    .where((eb) => eb.or([eb('left_at', 'is', null), eb('left_at', '>', asOf)]));
  if (page.afterContactId != null) query = query.where('contact_id', '>', page.afterContactId);
  const rows = await query.orderBy('contact_id').limit(page.first + 1).execute();
  const members: MemberAsOf[] = rows.slice(0, page.first).map((r) => ({ contactId: r.contact_id, enteredAt: r.entered_at, enteredPosition: r.entered_position }));
  return { members, hasNextPage: rows.length > page.first };
}

export async function memberCountAsOf(db: Kysely<Database>, workspaceId: string, segmentId: string, asOf: Date): Promise<number> {
  const row = await db
    .selectFrom('segment_membership_history')
    .select(sql<string>`count(DISTINCT contact_id)`.as('count'))
    .where('workspace_id', '=', workspaceId)
    .where('segment_id', '=', segmentId)
    .where('entered_at', '<=', asOf)
    .where((eb) => eb.or([eb('left_at', 'is', null), eb('left_at', '>', asOf)]))
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}
