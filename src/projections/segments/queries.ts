import { sql, type Kysely, type Selectable } from 'kysely';
import { ATTRIBUTE_TYPES, type AttributeType } from '../../domain/contacts/events.js';
import { explain, type RuleExplanation } from '../../domain/segments/explain.js';
import { referencedSegments, type Rule } from '../../domain/segments/rules.js';
import type { Database } from '../db/schema.js';
import { snapshotFromRow } from './snapshot.js';
import type { MembershipReason, SegmentsTable } from './tables.js';

export type SegmentRow = Selectable<SegmentsTable>;

export interface SegmentPageCursor {
  readonly name: string;
  readonly id: string;
}

/** Segments by name (then id), one page plus one row to tell whether there is a next page. */
export async function listSegments(
  db: Kysely<Database>,
  filter: { workspaceId: string; after: SegmentPageCursor | null; limit: number; includeDeleted: boolean },
): Promise<{ rows: SegmentRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('segments').selectAll().where('workspace_id', '=', filter.workspaceId);
  if (!filter.includeDeleted) query = query.where('status', '=', 'active');
  if (filter.after !== null) {
    const { name, id } = filter.after;
    query = query.where((eb) => eb.or([eb('name', '>', name), eb.and([eb('name', '=', name), eb('id', '>', id)])]));
  }
  const rows = await query.orderBy('name').orderBy('id').limit(filter.limit + 1).execute();
  return { rows: rows.slice(0, filter.limit), hasNextPage: rows.length > filter.limit };
}

export function findSegment(db: Kysely<Database>, workspaceId: string, segmentId: string): Promise<SegmentRow | undefined> {
  return db.selectFrom('segments').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', segmentId).executeTakeFirst();
}

export interface MemberRow {
  readonly contactId: string;
  readonly email: string;
  readonly since: Date;
  readonly reason: MembershipReason;
}

/** A segment's members by contact id, one page plus one row to tell whether there is a next page. */
export async function listMembers(
  db: Kysely<Database>,
  filter: { workspaceId: string; segmentId: string; after: string | null; limit: number },
): Promise<{ rows: MemberRow[]; hasNextPage: boolean }> {
  let query = db
    .selectFrom('segment_memberships as m')
    .innerJoin('segment_contact_snapshots as s', (join) => join.onRef('s.workspace_id', '=', 'm.workspace_id').onRef('s.contact_id', '=', 'm.contact_id'))
    .select(['m.contact_id', 's.email', 'm.since', 'm.reason'])
    .where('m.workspace_id', '=', filter.workspaceId)
    .where('m.segment_id', '=', filter.segmentId);
  if (filter.after !== null) query = query.where('m.contact_id', '>', filter.after);
  const rows = await query.orderBy('m.contact_id').limit(filter.limit + 1).execute();
  return {
    rows: rows.slice(0, filter.limit).map((r) => ({ contactId: r.contact_id, email: r.email, since: r.since, reason: r.reason })),
    hasNextPage: rows.length > filter.limit,
  };
}

/** Active segments (other than itself) whose rules name `segmentId` in `inSegment`. */
export function segmentReferrers(db: Kysely<Database>, workspaceId: string, segmentId: string): Promise<{ id: string; name: string }[]> {
  return db
    .selectFrom('segments')
    .select(['id', 'name'])
    .where('workspace_id', '=', workspaceId)
    .where('status', '=', 'active')
    .where('id', '<>', segmentId)
    .where(sql<boolean>`depends_on @> ARRAY[${segmentId}::text]`)
    .orderBy('name')
    .execute();
}

/**
 * The workspace's attribute keys from the contacts slice's `contact_attribute_keys(workspace_id, key, type)`.
 * While that table does not exist yet, the workspace has no attribute keys (attribute rules are refused).
 */
export async function attributeKeyTypes(db: Kysely<Database>, workspaceId: string): Promise<ReadonlyMap<string, AttributeType>> {
  const exists = await sql<{ found: boolean }>`SELECT to_regclass('contact_attribute_keys') IS NOT NULL AS found`.execute(db);
  if (exists.rows[0]?.found !== true) return new Map();
  const rows = await sql<{ key: string; type: string }>`SELECT key, type FROM contact_attribute_keys WHERE workspace_id = ${workspaceId}`.execute(db);
  return new Map(rows.rows.filter((r) => (ATTRIBUTE_TYPES as readonly string[]).includes(r.type)).map((r) => [r.key, r.type as AttributeType]));
}

export interface MembershipExplanation {
  readonly isMember: boolean;
  readonly since: Date | null;
  /** What evaluating the rules against the contact's snapshot gives now. */
  readonly matches: boolean;
  readonly explanation: RuleExplanation;
}

/**
 * Why a contact is in or out of a segment: its membership as recorded, and the rule tree evaluated against its
 * snapshot (with its recorded memberships for `inSegment`). Null when the segment or the contact is unknown.
 */
export async function explainMembership(
  db: Kysely<Database>,
  query: { workspaceId: string; segmentId: string; contactId: string; now: Date },
): Promise<MembershipExplanation | null> {
  const { workspaceId, segmentId, contactId } = query;
  const [segment, snapshot] = await Promise.all([
    findSegment(db, workspaceId, segmentId),
    db.selectFrom('segment_contact_snapshots').selectAll().where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).executeTakeFirst(),
  ]);
  if (segment === undefined || snapshot === undefined) return null;
  const rules = segment.rules as Rule;
  const memberships = await db
    .selectFrom('segment_memberships')
    .select(['segment_id', 'since'])
    .where('workspace_id', '=', workspaceId)
    .where('segment_id', 'in', [segmentId, ...referencedSegments(rules)])
    .where('contact_id', '=', contactId)
    .execute();
  const memberOf = new Map(memberships.map((m) => [m.segment_id, m.since]));
  const explanation = explain(rules, snapshotFromRow(snapshot), (id) => memberOf.has(id), query.now);
  const matches = segment.status === 'active' && explanation.result;
  return { isMember: memberOf.has(segmentId), since: memberOf.get(segmentId) ?? null, matches, explanation };
}
