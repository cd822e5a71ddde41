import { sql, type Kysely } from 'kysely';
import type { Rule } from '../../domain/segments/rules.js';
import type { Database } from '../db/schema.js';
import { compileRules } from './compile.js';
import type { MembershipReason } from './tables.js';

export interface FullEvaluation {
  readonly workspaceId: string;
  readonly segmentId: string;
  readonly rules: Rule;
  /** The rules version evaluated; recorded as `segments.evaluated_version`. */
  readonly version: number;
  /** `since` of contacts that enter the segment now (members who stay keep theirs). */
  readonly since: Date;
  readonly reason: MembershipReason;
  /** The clock of time-relative rules (`within_last_days`). */
  readonly now: Date;
}

/** Memory for the evaluation's hash join and sort (1M contact ids need about 150 MB to stay in memory). */
export const EVALUATION_WORK_MEM = '256MB';

export interface FullEvaluationResult {
  readonly added: number;
  readonly removed: number;
}

/**
 * Re-evaluates one segment for every contact of its workspace, set-based, in ONE statement: a FULL JOIN of the
 * contacts that match (compiled rules) with the current members gives the difference; members who no longer
 * match are deleted, matching contacts who are not members yet are inserted (in contact id order, which keeps
 * the primary key's inserts local); members who stay are not rewritten, so their `since` and `reason` stay.
 * The same statement records the entries and exits in segment_membership_history (history.ts).
 * Then `member_count` and `evaluated_version` on the segment's row (if it has one). Runs in the caller's
 * transaction (the projector's batch) or opens one.
 *
 * Plans: statistics are often stale right after a big evaluation (an empty memberships table that just got
 * 1M rows), and a nested loop over a "tiny" table that is really large is quadratic. A FULL JOIN is only ever
 * a hash or merge join; nested loops are also switched off for the semi-join of the DELETE, and work_mem is
 * raised so the hash join and the sort stay in memory. Both settings are transaction-local and restored.
 */
export async function evaluateSegmentFully(db: Kysely<Database>, evaluation: FullEvaluation): Promise<FullEvaluationResult> {
  if (!db.isTransaction) return db.transaction().execute((trx) => evaluateSegmentFully(trx, evaluation));
  const { workspaceId, segmentId } = evaluation;
  const matches = compileRules(evaluation.rules, evaluation.now, 's');
  const before = await sql<{ nestloop: string; workMem: string }>`SELECT current_setting('enable_nestloop') AS "nestloop", current_setting('work_mem') AS "workMem"`.execute(db);
  await sql`SELECT set_config('enable_nestloop', 'off', true), set_config('work_mem', ${EVALUATION_WORK_MEM}, true)`.execute(db);
  const counts = await sql<{ removed: string; added: string }>`
    WITH diff AS MATERIALIZED (
      SELECT coalesce(matching.contact_id, member.contact_id) AS contact_id, matching.contact_id IS NOT NULL AS matches
      FROM (
        SELECT s.contact_id FROM segment_contact_snapshots s
        WHERE s.workspace_id = ${workspaceId} AND NOT s.merged AND ${matches}
      ) matching
      FULL JOIN (
        SELECT m.contact_id FROM segment_memberships m WHERE m.workspace_id = ${workspaceId} AND m.segment_id = ${segmentId}
      ) member ON member.contact_id = matching.contact_id
      WHERE matching.contact_id IS NULL OR member.contact_id IS NULL
    ),
    removed AS (
      DELETE FROM segment_memberships m
      WHERE m.workspace_id = ${workspaceId} AND m.segment_id = ${segmentId}
        AND m.contact_id IN (SELECT contact_id FROM diff WHERE NOT matches)
      RETURNING m.contact_id
    ),
    added AS (
      INSERT INTO segment_memberships (workspace_id, segment_id, contact_id, since, reason)
      SELECT ${workspaceId}, ${segmentId}, contact_id, ${evaluation.since}::timestamptz, ${JSON.stringify(evaluation.reason)}::jsonb
      FROM diff WHERE matches ORDER BY contact_id
      RETURNING contact_id
    ),
    history_left AS (
      UPDATE segment_membership_history h SET left_at = ${evaluation.since}::timestamptz, left_position = ${evaluation.reason.position}::int8
      WHERE h.workspace_id = ${workspaceId} AND h.segment_id = ${segmentId} AND h.left_position IS NULL
        AND h.contact_id IN (SELECT contact_id FROM removed)
    ),
    history_entered AS (
      INSERT INTO segment_membership_history (workspace_id, segment_id, contact_id, entered_at, entered_position)
      SELECT ${workspaceId}, ${segmentId}, contact_id, ${evaluation.since}::timestamptz, ${evaluation.reason.position}::int8 FROM added ORDER BY contact_id
      ON CONFLICT DO NOTHING
    )
    SELECT (SELECT count(*) FROM removed) AS removed, (SELECT count(*) FROM added) AS added`.execute(db);
  const settings = before.rows[0];
  await sql`SELECT set_config('enable_nestloop', ${settings?.nestloop ?? 'on'}, true), set_config('work_mem', ${settings?.workMem ?? '4MB'}, true)`.execute(db);
  const result = { added: Number(counts.rows[0]?.added ?? 0), removed: Number(counts.rows[0]?.removed ?? 0) };
  await db
    .updateTable('segments')
    .set((eb) => ({
      member_count: sql`${eb.ref('member_count')} + ${result.added - result.removed}`,
      evaluated_version: evaluation.version,
    }))
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', segmentId)
    .execute();
  return result;
}
