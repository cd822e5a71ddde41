import { sql, type Kysely } from 'kysely';
import { evaluate, type ContactSnapshot } from '../../domain/segments/evaluate.js';
import { dependencyOrder } from '../../domain/segments/order.js';
import type { Rule } from '../../domain/segments/rules.js';
import type { Database } from '../db/schema.js';
import { recordEntered, recordLeft } from './history.js';
import type { MembershipReason } from './tables.js';

export interface ActiveSegment {
  readonly id: string;
  readonly version: number;
  readonly rules: Rule;
  readonly dependsOn: readonly string[];
}

/** The workspace's active segments in dependency order (a segment after those it names in `inSegment`). */
export async function activeSegments(db: Kysely<Database>, workspaceId: string): Promise<ActiveSegment[]> {
  const rows = await db
    .selectFrom('segments')
    .select(['id', 'version', 'rules', 'depends_on'])
    .where('workspace_id', '=', workspaceId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  return dependencyOrder(rows.map((r) => ({ id: r.id, version: r.version, rules: r.rules as Rule, dependsOn: r.depends_on })));
}

export interface ContactCause {
  readonly eventType: string;
  readonly position: bigint;
  readonly at: Date;
}

/**
 * Re-evaluates ONE contact against the workspace's active segments, in dependency order so that `inSegment`
 * sees this contact's fresh memberships, and writes only the difference: joined segments get a membership
 * (since = the event's time), left ones lose it, and each changed segment's member_count moves by one.
 * A merged contact matches nothing and so leaves every segment.
 */
export async function reevaluateContact(db: Kysely<Database>, workspaceId: string, contact: ContactSnapshot, cause: ContactCause, now: Date): Promise<void> {
  const segments = await activeSegments(db, workspaceId);
  // Only active segments have members (deleting a segment drops them), so there is nothing to leave either.
  if (segments.length === 0) return;
  const current = new Set(await membershipsOf(db, workspaceId, contact.contactId, segments.map((s) => s.id)));

  const evaluated = new Set<string>();
  const next = new Set<string>();
  // Segments evaluated earlier in this pass answer from `next`; any other (only in a cycle) from `current`.
  const membershipOf = (segmentId: string) => (evaluated.has(segmentId) ? next.has(segmentId) : current.has(segmentId));
  for (const segment of segments) {
    if (evaluate(segment.rules, contact, membershipOf, now)) next.add(segment.id);
    evaluated.add(segment.id);
  }

  const joined = segments.filter((s) => next.has(s.id) && !current.has(s.id));
  const left = [...current].filter((id) => !next.has(id));
  if (joined.length > 0) {
    await db
      .insertInto('segment_memberships')
      .values(
        joined.map((s) => {
          const reason: MembershipReason = { trigger: 'contact', eventType: cause.eventType, position: cause.position.toString(), version: s.version };
          return { workspace_id: workspaceId, segment_id: s.id, contact_id: contact.contactId, since: cause.at, reason: JSON.stringify(reason) };
        }),
      )
      .execute();
    await moveMemberCounts(db, workspaceId, joined.map((s) => s.id), 1);
    await recordEntered(db, { workspaceId, at: cause.at, position: cause.position }, joined.map((s) => s.id), contact.contactId);
  }
  if (left.length > 0) {
    await db.deleteFrom('segment_memberships').where('workspace_id', '=', workspaceId).where('contact_id', '=', contact.contactId).where('segment_id', 'in', left).execute();
    await moveMemberCounts(db, workspaceId, left, -1);
    await recordLeft(db, { workspaceId, at: cause.at, position: cause.position }, left, contact.contactId);
  }
}

/** Which of the given segments the contact is a member of: primary key probes, no index by contact needed. */
export async function membershipsOf(db: Kysely<Database>, workspaceId: string, contactId: string, segmentIds: readonly string[]): Promise<string[]> {
  if (segmentIds.length === 0) return [];
  const rows = await db
    .selectFrom('segment_memberships')
    .select('segment_id')
    .where('workspace_id', '=', workspaceId)
    .where('segment_id', '=', sql<string>`ANY(${[...segmentIds]}::text[])`)
    .where('contact_id', '=', contactId)
    .execute();
  return rows.map((r) => r.segment_id);
}

async function moveMemberCounts(db: Kysely<Database>, workspaceId: string, segmentIds: readonly string[], delta: 1 | -1): Promise<void> {
  await db
    .updateTable('segments')
    .set((eb) => ({ member_count: sql`${eb.ref('member_count')} + ${delta}` }))
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', segmentIds)
    .execute();
}
