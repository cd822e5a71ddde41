import { sql, type Kysely } from 'kysely';
import type { LaunchCounts, RenderTally } from '../../domain/launches/events.js';
import type { Database } from '../../projections/db/schema.js';
import { idempotencyKeyOf, messageIdFor } from '../delivery/identifiers.js';

/**
 * What the launch saga does to a campaign's rows of the delivery ledger as a whole (src/sagas/delivery/ledger.ts
 * owns the per-row life cycle). Every operation is state-guarded in SQL, so running it twice changes nothing more.
 */

/** A campaign's rows by where they are. */
export interface LedgerTally {
  readonly total: number;
  /** An A/B test's holdout, waiting for the winner. */
  readonly held: number;
  readonly pending: number;
  readonly sending: number;
  readonly sent: number;
  readonly failed: number;
  readonly renderFailed: number;
  readonly unknown: number;
}

export async function tallyLedger(db: Kysely<Database>, campaignId: string): Promise<LedgerTally> {
  const rows = await db
    .selectFrom('delivery_ledger')
    .select(['status', 'failure_kind', (eb) => eb.fn.countAll<string>().as('n')])
    .where('campaign_id', '=', campaignId)
    .groupBy(['status', 'failure_kind'])
    .execute();
  const tally = { total: 0, held: 0, pending: 0, sending: 0, sent: 0, failed: 0, renderFailed: 0, unknown: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    tally.total += n;
    if (row.status === 'failed' && row.failure_kind === 'render') tally.renderFailed += n;
    else tally[row.status] += n;
  }
  return tally;
}

/**
 * Whether any of the campaign's rows is still pending or sending: two index probes, not a count. An idle worker
 * asks this every round while other workers finish their batches; only when it says no is the ledger counted in
 * full (to complete). The pending range is read backwards, as in campaignsWithLedgerWork below.
 */
export async function hasUnsettledRows(db: Kysely<Database>, campaignId: string): Promise<boolean> {
  const { rows } = await sql<{ unsettled: boolean }>`
    SELECT (SELECT l.idempotency_key FROM delivery_ledger l WHERE l.campaign_id = ${campaignId} AND l.status = 'pending' ORDER BY l.idempotency_key DESC LIMIT 1) IS NOT NULL
        OR EXISTS (SELECT 1 FROM delivery_ledger l WHERE l.campaign_id = ${campaignId} AND l.status = 'sending') AS unsettled`.execute(db);
  return rows[0]!.unsettled;
}

/** The counts a launch ends with; rows missing from the frozen audience were released by a cancel; held rows were never sent. */
export function countsOf(tally: LedgerTally, audienceSize: number): LaunchCounts {
  return {
    audience: audienceSize,
    sent: tally.sent,
    failed: tally.failed,
    renderFailed: tally.renderFailed,
    // A cancel may leave rows in 'sending' whose outcome arrives later: not known when the counts were taken.
    unknown: tally.unknown + tally.sending,
    cancelled: Math.max(0, audienceSize - tally.total) + tally.pending + tally.held,
  };
}

/** The counts of an A/B test's sample (the held rows are not part of it). */
export function sampleCountsOf(tally: LedgerTally, sampleSize: number): LaunchCounts {
  return countsOf({ ...tally, total: tally.total - tally.held, held: 0 }, sampleSize);
}

/** Attempts (rows past rendering) and render failures: the render-failure threshold's measure. */
export function renderTallyOf(tally: LedgerTally): RenderTally {
  return { attempted: tally.sent + tally.failed + tally.renderFailed + tally.sending + tally.unknown, renderFailed: tally.renderFailed };
}

/** Deletes the campaign's rows that were never handed to SMTP, the holdout's too (compensation, cancel); returns how many. */
export async function releasePending(db: Kysely<Database>, campaignId: string): Promise<number> {
  const result = await db.deleteFrom('delivery_ledger').where('campaign_id', '=', campaignId).where('status', 'in', ['pending', 'held']).executeTakeFirst();
  return Number(result.numDeletedRows);
}

const ASSIGN_CHUNK = 1_000;

/**
 * The winner round: the held rows become pending rows of the winner's variant. Each row gets the idempotency key
 * and Message-ID of (campaign, winner, contact), exactly what a sample row of the winner would have, so the rest of
 * the ledger's life cycle (claims, pre-send mark, outcomes, bounces) is the usual one. Exactly once: a row is
 * moved only while 'held' (a repeat, or a second worker, finds nothing left to move), it was never sent under its
 * holdout key (held rows are never claimed), and the unique (campaign, contact) index keeps a contact to one row,
 * so a holdout contact cannot also be a sample row with the winner's key. Returns how many rows were moved.
 */
export async function assignHoldout(db: Kysely<Database>, campaignId: string, variantKey: string, senderDomain: string): Promise<number> {
  let assigned = 0;
  for (;;) {
    const moved = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('delivery_ledger')
        .select(['idempotency_key', 'contact_id'])
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 'held')
        .orderBy('idempotency_key')
        .limit(ASSIGN_CHUNK)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      const values = rows.map((r) => sql`(${r.idempotency_key}, ${idempotencyKeyOf(campaignId, variantKey, r.contact_id)}, ${messageIdFor(campaignId, variantKey, r.contact_id, senderDomain)})`);
      const result = await sql`
        UPDATE delivery_ledger l
        SET idempotency_key = v.new_key, message_id = v.message_id, variant_key = ${variantKey}, status = 'pending', claimed_by = NULL, claimed_at = NULL, updated_at = now()
        FROM (VALUES ${sql.join(values)}) AS v(old_key, new_key, message_id)
        WHERE l.idempotency_key = v.old_key AND l.status = 'held'`.execute(trx);
      return Number(result.numAffectedRows ?? 0n);
    });
    if (moved === 0) return assigned;
    assigned += moved;
  }
}

/**
 * Failed rows (settled before `before`, the resend round's start) back to pending for another round, their
 * outcome not yet recorded for it. Rows that fail again in the new round settle after `before`, so repeating this
 * never requeues them a second time.
 */
export async function requeueFailed(db: Kysely<Database>, campaignId: string, before: Date): Promise<number> {
  const result = await db
    .updateTable('delivery_ledger')
    .set({
      status: 'pending',
      recorded: false,
      claimed_by: null,
      claimed_at: null,
      failure_kind: null,
      failed_at: null,
      smtp_code: null,
      last_error: sql<string>`'resend after: ' || coalesce(last_error, '')`,
      updated_at: sql<Date>`now()`,
    })
    .where('campaign_id', '=', campaignId)
    .where('status', '=', 'failed')
    .where('failed_at', '<=', before)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Claims on pending rows older than `olderThanMs` are given up (their worker died or stalled). Safe with a live
 * holder too: its pre-send mark requires its own claim, so it skips the row and the new holder sends it once.
 */
export async function releaseStaleClaims(db: Kysely<Database>, campaignId: string, olderThanMs: number): Promise<number> {
  const result = await db
    .updateTable('delivery_ledger')
    .set({ claimed_by: null, claimed_at: null, updated_at: sql<Date>`now()` })
    .where('campaign_id', '=', campaignId)
    .where('status', '=', 'pending')
    .where('claimed_by', 'is not', null)
    .where('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Campaigns whose ledger still has work: rows to send, sends in doubt, or outcomes to record (a resend round of a
 * completed campaign, a launch that ended with sends in flight). A few index probes per campaign, never a ledger
 * scan: every worker runs this at each poll, during a launch too (measured: it was the saga's most frequent
 * statement). The pending probe reads the key range backwards because claims take keys in ascending order, so the
 * range starts with the entries of rows that already left 'pending' (until vacuum removes them) and ends with the
 * unclaimed ones. `OFFSET 0` keeps each EXISTS a correlated probe; without it the planner may hash the subquery,
 * i.e. read the whole ledger.
 */
export async function campaignsWithLedgerWork(db: Kysely<Database>): Promise<string[]> {
  const rows = await sql<{ id: string }>`
    SELECT c.id::text AS id FROM campaigns c
    WHERE (SELECT l.idempotency_key FROM delivery_ledger l WHERE l.campaign_id = c.id::text AND l.status = 'pending' ORDER BY l.idempotency_key DESC LIMIT 1) IS NOT NULL
       OR EXISTS (SELECT 1 FROM delivery_ledger l WHERE l.campaign_id = c.id::text AND l.status = 'sending' OFFSET 0)
       OR EXISTS (SELECT 1 FROM delivery_ledger l WHERE l.campaign_id = c.id::text AND NOT l.recorded AND l.status IN ('sent', 'failed') OFFSET 0)`.execute(db);
  return rows.rows.map((r) => r.id);
}

/** The database's clock: what the ledger's timestamps are compared with. */
export async function databaseNow(db: Kysely<Database>): Promise<Date> {
  const result = await sql<{ now: Date }>`SELECT now() AS now`.execute(db);
  return result.rows[0]!.now;
}
