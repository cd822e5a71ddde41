/**
 * The delivery ledger: one row per (campaign, variant, contact), keyed by the idempotency key
 * `<campaignId>:<variantKey>:<contactId>`. Every SMTP side effect is checked against it before and recorded in it
 * after (STYLE.md, Sagas).
 *
 * ## Exactly once, and where it stops
 * A row only moves forward: pending → (claimed) → sending → sent | failed, and a 'sending' row settles once as
 * sent | pending | unknown.
 * 1. `enqueue` inserts with ON CONFLICT DO NOTHING: re-running a launch never adds a second row for a recipient.
 * 2. `claimBatch` takes pending rows with FOR UPDATE SKIP LOCKED and stamps them with the worker's id, so two
 *    workers never hold the same row; a claim is a lease (a dead worker's claims are taken over after it expires).
 * 3. `markSending` is the pre-send mark, committed BEFORE the SMTP call. It only succeeds for a pending row still
 *    claimed by this worker. A row is therefore handed to SMTP at most once per 'sending' episode, by one worker.
 * 4. After the provider answers, `markSent` / `markFailed` record the outcome. When the sender proves nothing was
 *    handed over (circuit open, provider unreachable) the row goes back to pending (`returnToPending`).
 * 5. The one window no local bookkeeping can close: SMTP accepted the message and the process died (or the
 *    connection broke) before `markSent` committed. The row is left in 'sending'. Such rows, once older than any
 *    live send can take (`staleAfterMs`), are settled by **reconciliation by Message-ID**: the injected
 *    Reconciler asks the provider whether it accepted our deterministic Message-ID. 'yes' → sent (recorded
 *    like any other send), 'no' → pending (a resend is safe: the provider never took it), 'unknown' → status
 *    'unknown': never resent automatically (we prefer at most once to a duplicate) and reported for a human.
 * So with a reconciler that can answer yes/no every recipient gets exactly one accepted message; without one the
 * guarantee degrades to at most once, and the crash window shows up as 'unknown' rows instead of duplicates.
 *
 * Reconcilers: the test sink records the Message-IDs it accepted (test/support/smtpSink.ts). A real provider
 * needs its message-log / activity API (e.g. searching sent messages by Message-ID) or its delivery webhooks
 * (store accepted Message-IDs as they arrive, then answer from that table) to implement `wasAccepted`;
 * `noReconciler` answers 'unknown' for providers without either.
 */
import { sql, type Kysely, type UpdateObject } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import { idempotencyKeyOf } from './identifiers.js';
import { markSendingMany, settleMany, type Settlement } from './ledgerBatch.js';
import type { DeliveryLedgerRow, DeliveryStatus, DeliveryTables } from './tables.js';

export type { DeliveryLedgerRow, DeliveryStatus } from './tables.js';

export interface Reconciler {
  /** Did the provider accept a message with this Message-ID (no brackets)? */
  wasAccepted(messageId: string): Promise<'yes' | 'no' | 'unknown'>;
}

export const noReconciler: Reconciler = { wasAccepted: async () => 'unknown' };

export interface Recipient {
  readonly workspaceId: string;
  readonly campaignId: string;
  readonly variantKey: string;
  readonly contactId: string;
  readonly email: string;
  /** messageIdFor(...) in identifiers.ts. */
  readonly messageId: string;
}

/** What is about to be sent; EmailSent carries it. */
export interface SendingContent {
  readonly campaignRevision: number;
  readonly templateId: string;
  readonly templateVersion: number;
  readonly subject: string;
  readonly contentHash: string;
}

export interface FailureRecord {
  readonly kind: 'permanent' | 'temporary';
  readonly smtpCode: number | null;
  readonly reason: string;
  /** SMTP attempts the sender made in this try. */
  readonly attempts: number;
}

export interface ReconcileReport {
  readonly sent: readonly string[];
  readonly requeued: readonly string[];
  readonly unknown: readonly string[];
}

const ENQUEUE_CHUNK = 1_000;
const MAX_ERROR = 1_000;

export class DeliveryLedger {
  private readonly db: Kysely<Database & DeliveryTables>;

  constructor(db: Kysely<Database>) {
    // Until schema.ts's Database extends DeliveryTables, the two tables are added here.
    this.db = db.withTables<DeliveryTables>();
  }

  /** Inserts the audience as pending rows; existing keys are left alone. Returns how many were new. */
  async enqueue(recipients: readonly Recipient[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < recipients.length; i += ENQUEUE_CHUNK) {
      const chunk = recipients.slice(i, i + ENQUEUE_CHUNK).map((r) => ({
        idempotency_key: idempotencyKeyOf(r.campaignId, r.variantKey, r.contactId),
        workspace_id: r.workspaceId,
        campaign_id: r.campaignId,
        variant_key: r.variantKey,
        contact_id: r.contactId,
        email: r.email,
        message_id: r.messageId,
        status: 'pending' as const,
      }));
      const result = await this.db.insertInto('delivery_ledger').values(chunk).onConflict((oc) => oc.doNothing()).executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return inserted;
  }

  /**
   * Up to `limit` pending rows of the campaign, claimed by `workerId` (unclaimed, or whose claim expired), in key
   * order; `after`: only keys after this one.
   */
  async claimBatch(campaignId: string, limit: number, workerId: string, leaseMs = 5 * 60_000, after: string | null = null): Promise<DeliveryLedgerRow[]> {
    let claimable = this.db
      .selectFrom('delivery_ledger')
      .select('idempotency_key')
      .where('campaign_id', '=', campaignId)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${leaseMs / 1000})`)]))
      .orderBy('idempotency_key')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    if (after !== null) claimable = claimable.where('idempotency_key', '>', after);
    return this.db
      .updateTable('delivery_ledger')
      .set({ claimed_by: workerId, claimed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('idempotency_key', 'in', claimable)
      .returningAll()
      .execute();
  }

  /** The pre-send mark. false: the row is no longer this worker's pending row, and must not be sent. */
  async markSending(key: string, workerId: string, content: SendingContent): Promise<boolean> {
    const result = await this.db
      .updateTable('delivery_ledger')
      .set({
        status: 'sending',
        sending_at: sql<Date>`now()`,
        attempts: sql<number>`attempts + 1`,
        campaign_revision: content.campaignRevision,
        template_id: content.templateId,
        template_version: content.templateVersion,
        subject: content.subject,
        content_hash: content.contentHash,
        updated_at: sql<Date>`now()`,
      })
      .where('idempotency_key', '=', key)
      .where('status', '=', 'pending')
      .where('claimed_by', '=', workerId)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** markSending for many rows in one statement; returns the keys marked (only those may be sent). */
  markSendingMany(workerId: string, rows: readonly { readonly key: string; readonly content: SendingContent }[]): Promise<Set<string>> {
    return markSendingMany(this.db, workerId, rows);
  }

  /** markSent / markFailed / returnToPending for many 'sending' rows; returns the keys settled. */
  settleMany(settlements: readonly Settlement[]): Promise<Set<string>> {
    return settleMany(this.db, settlements);
  }

  async markSent(key: string, smtpAttempts = 1): Promise<boolean> {
    return this.settle(key, 'sending', {
      status: 'sent',
      sent_at: sql<Date>`now()`,
      smtp_code: 250,
      attempts: sql<number>`attempts + ${smtpAttempts - 1}`,
    });
  }

  async markFailed(key: string, failure: FailureRecord): Promise<boolean> {
    return this.settle(key, 'sending', {
      status: 'failed',
      failed_at: sql<Date>`now()`,
      failure_kind: failure.kind,
      smtp_code: failure.smtpCode,
      last_error: failure.reason.slice(0, MAX_ERROR),
      attempts: sql<number>`attempts + ${failure.attempts - 1}`,
    });
  }

  /** Rendering failed for a claimed row: nothing was sent; recorded as EmailRenderFailed. */
  async markRenderFailed(key: string, workerId: string, reason: string): Promise<boolean> {
    const result = await this.db
      .updateTable('delivery_ledger')
      .set({ status: 'failed', failure_kind: 'render', failed_at: sql<Date>`now()`, last_error: reason.slice(0, MAX_ERROR), updated_at: sql<Date>`now()` })
      .where('idempotency_key', '=', key)
      .where('status', '=', 'pending')
      .where('claimed_by', '=', workerId)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Only when it is certain that nothing was handed to SMTP (circuit open, provider unreachable). */
  async returnToPending(key: string, reason: string): Promise<boolean> {
    return this.settle(key, 'sending', { status: 'pending', claimed_by: null, claimed_at: null, last_error: reason.slice(0, MAX_ERROR) });
  }

  /** Gives up a claim on a row this worker did not get to (e.g. the campaign is pausing). */
  async releaseClaim(key: string, workerId: string): Promise<void> {
    await this.db
      .updateTable('delivery_ledger')
      .set({ claimed_by: null, claimed_at: null, updated_at: sql<Date>`now()` })
      .where('idempotency_key', '=', key)
      .where('status', '=', 'pending')
      .where('claimed_by', '=', workerId)
      .execute();
  }

  /**
   * Settles rows left in 'sending' for longer than `staleAfterMs` (their worker died or lost the connection),
   * asking the reconciler by Message-ID. `staleAfterMs` must exceed the longest a live send can take
   * (attempts × socket timeout + backoff), or a slow live send could be settled under its worker's feet.
   */
  async reconcileSending(reconciler: Reconciler, options: { campaignId?: string; staleAfterMs: number; limit?: number }): Promise<ReconcileReport> {
    let query = this.db
      .selectFrom('delivery_ledger')
      .selectAll()
      .where('status', '=', 'sending')
      .where('sending_at', '<=', sql<Date>`now() - make_interval(secs => ${options.staleAfterMs / 1000})`)
      .orderBy('sending_at')
      .limit(options.limit ?? 500);
    if (options.campaignId !== undefined) query = query.where('campaign_id', '=', options.campaignId);
    const report = { sent: [] as string[], requeued: [] as string[], unknown: [] as string[] };
    for (const row of await query.execute()) {
      const verdict = await reconciler.wasAccepted(row.message_id);
      const key = row.idempotency_key;
      // Guarded by attempts (bumped by every pre-send mark): a row that moved on since it was read is left alone.
      const guard = { attempts: row.attempts };
      if (verdict === 'yes' && (await this.settle(key, 'sending', { status: 'sent', sent_at: sql<Date>`now()`, smtp_code: 250 }, guard))) report.sent.push(key);
      if (verdict === 'no' && (await this.settle(key, 'sending', { status: 'pending', claimed_by: null, claimed_at: null, last_error: 'reconciled: not accepted by the provider' }, guard))) {
        report.requeued.push(key);
      }
      if (verdict === 'unknown' && (await this.settle(key, 'sending', { status: 'unknown', last_error: 'reconciled: the provider cannot tell whether it accepted the message' }, guard))) {
        report.unknown.push(key);
      }
    }
    return report;
  }

  /**
   * Settled rows whose outcome event is not yet in the event store: the campaign's, or only those of `keys` (the
   * rows a worker just settled). With keys it is a primary-key lookup; without, a scan of the campaign's
   * unrecorded rows, whose partial index keeps an entry per row that was ever unrecorded until vacuum removes it
   * (measured at 1M recipients without autovacuum: 54k entries and 30k heap blocks per call, 140 ms, growing with
   * the launch), so a running launch records by key and scans only before it ends and on recovery.
   */
  async outcomesToRecord(campaignId: string, limit: number, keys?: readonly string[]): Promise<DeliveryLedgerRow[]> {
    const unrecorded = sql<boolean>`campaign_id = ${campaignId} AND NOT recorded AND status IN ('sent', 'failed')`;
    if (keys === undefined) return this.db.selectFrom('delivery_ledger').selectAll().where(unrecorded).orderBy('idempotency_key').limit(limit).execute();
    if (keys.length === 0) return [];
    // The rows by primary key first, then the conditions: `OFFSET 0` keeps the planner from pushing them into the
    // lookup, where it preferred the partial index above (measured: 38k heap blocks instead of one per key).
    const byKey = this.db.selectFrom('delivery_ledger').selectAll().where('idempotency_key', '=', sql<string>`ANY(${[...keys]}::text[])`).offset(0);
    return this.db.selectFrom(byKey.as('l')).selectAll().where(unrecorded).orderBy('idempotency_key').limit(limit).execute();
  }

  async markRecorded(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.updateTable('delivery_ledger').set({ recorded: true, updated_at: sql<Date>`now()` }).where('idempotency_key', 'in', keys).execute();
  }

  /** The workspace's row for the first of these Message-IDs that has one. */
  async findByMessageId(workspaceId: string, messageIds: readonly string[]): Promise<DeliveryLedgerRow | undefined> {
    if (messageIds.length === 0) return undefined;
    const rows = await this.db.selectFrom('delivery_ledger').selectAll().where('workspace_id', '=', workspaceId).where('message_id', 'in', messageIds).execute();
    return messageIds.map((id) => rows.find((r) => r.message_id === id)).find((r) => r !== undefined);
  }

  async get(key: string): Promise<DeliveryLedgerRow | undefined> {
    return this.db.selectFrom('delivery_ledger').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  }

  async countByStatus(campaignId: string): Promise<Record<DeliveryStatus, number>> {
    const rows = await this.db
      .selectFrom('delivery_ledger')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .where('campaign_id', '=', campaignId)
      .groupBy('status')
      .execute();
    const counts: Record<DeliveryStatus, number> = { held: 0, pending: 0, sending: 0, sent: 0, failed: 0, unknown: 0 };
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  private async settle(
    key: string,
    from: DeliveryStatus,
    values: UpdateObject<DeliveryTables, 'delivery_ledger'>,
    guard?: { attempts: number },
  ): Promise<boolean> {
    let query = this.db
      .updateTable('delivery_ledger')
      .set({ ...values, updated_at: sql<Date>`now()` })
      .where('idempotency_key', '=', key)
      .where('status', '=', from);
    if (guard !== undefined) query = query.where('attempts', '=', guard.attempts);
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}
