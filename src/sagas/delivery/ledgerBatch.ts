import { sql, type Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import type { FailureRecord, SendingContent } from './ledger.js';

/**
 * The per-row transitions of ledger.ts for many rows in one statement each: a delivery batch makes one pre-send
 * mark statement and a few outcome statements instead of two round trips (and two commits) per recipient. Each
 * statement keeps exactly the guard of its per-row twin (pending + claimed by this worker; 'sending'), applied to
 * every row on its own, so the exactly-once argument in ledger.ts is unchanged: a row leaves 'sending' once, and
 * only the rows this statement moved to 'sending' may be handed to SMTP.
 */

const MAX_ERROR = 1_000;

/** One row's outcome as the sender reported it. */
export type Settlement =
  | { readonly key: string; readonly outcome: 'sent'; readonly attempts: number }
  | { readonly key: string; readonly outcome: 'failed'; readonly failure: FailureRecord }
  | { readonly key: string; readonly outcome: 'pending'; readonly reason: string };

/** The pre-send marks of many rows; returns the keys that were marked (only those may be sent). */
export async function markSendingMany(db: Kysely<Database>, workerId: string, rows: readonly { readonly key: string; readonly content: SendingContent }[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const { rows: marked } = await sql<{ idempotency_key: string }>`
    UPDATE delivery_ledger AS l
       SET status = 'sending', sending_at = now(), attempts = l.attempts + 1, campaign_revision = v.campaign_revision,
           template_id = v.template_id, template_version = v.template_version, subject = v.subject,
           content_hash = v.content_hash, updated_at = now()
      FROM unnest(${rows.map((r) => r.key)}::text[], ${rows.map((r) => r.content.campaignRevision)}::int[],
                  ${rows.map((r) => r.content.templateId)}::text[], ${rows.map((r) => r.content.templateVersion)}::int[],
                  ${rows.map((r) => r.content.subject)}::text[], ${rows.map((r) => r.content.contentHash)}::text[])
           AS v(key, campaign_revision, template_id, template_version, subject, content_hash)
     WHERE l.idempotency_key = v.key AND l.status = 'pending' AND l.claimed_by = ${workerId}
     RETURNING l.idempotency_key`.execute(db);
  return new Set(marked.map((r) => r.idempotency_key));
}

/** Settles 'sending' rows: at most three statements (sent, failed, back to pending). Returns the keys settled. */
export async function settleMany(db: Kysely<Database>, settlements: readonly Settlement[]): Promise<Set<string>> {
  const settled = new Set<string>();
  const sent = settlements.filter((s) => s.outcome === 'sent');
  const failed = settlements.filter((s) => s.outcome === 'failed');
  const pending = settlements.filter((s) => s.outcome === 'pending');
  const collect = (rows: readonly { idempotency_key: string }[]) => rows.forEach((r) => settled.add(r.idempotency_key));
  if (sent.length > 0) {
    collect((await sql<{ idempotency_key: string }>`
      UPDATE delivery_ledger AS l
         SET status = 'sent', sent_at = now(), smtp_code = 250, attempts = l.attempts + v.attempts - 1, updated_at = now()
        FROM unnest(${sent.map((s) => s.key)}::text[], ${sent.map((s) => s.attempts)}::int[]) AS v(key, attempts)
       WHERE l.idempotency_key = v.key AND l.status = 'sending'
       RETURNING l.idempotency_key`.execute(db)).rows);
  }
  if (failed.length > 0) {
    collect((await sql<{ idempotency_key: string }>`
      UPDATE delivery_ledger AS l
         SET status = 'failed', failed_at = now(), failure_kind = v.kind, smtp_code = v.smtp_code, last_error = v.reason,
             attempts = l.attempts + v.attempts - 1, updated_at = now()
        FROM unnest(${failed.map((s) => s.key)}::text[], ${failed.map((s) => s.failure.kind)}::text[],
                    ${failed.map((s) => s.failure.smtpCode)}::int[], ${failed.map((s) => s.failure.reason.slice(0, MAX_ERROR))}::text[],
                    ${failed.map((s) => s.failure.attempts)}::int[]) AS v(key, kind, smtp_code, reason, attempts)
       WHERE l.idempotency_key = v.key AND l.status = 'sending'
       RETURNING l.idempotency_key`.execute(db)).rows);
  }
  if (pending.length > 0) {
    collect((await sql<{ idempotency_key: string }>`
      UPDATE delivery_ledger AS l
         SET status = 'pending', claimed_by = NULL, claimed_at = NULL, last_error = v.reason, updated_at = now()
        FROM unnest(${pending.map((s) => s.key)}::text[], ${pending.map((s) => s.reason.slice(0, MAX_ERROR))}::text[]) AS v(key, reason)
       WHERE l.idempotency_key = v.key AND l.status = 'sending'
       RETURNING l.idempotency_key`.execute(db)).rows);
  }
  return settled;
}

/**
 * Outcomes as they arrive, written in batches: while one statement is in flight the next outcomes queue, and
 * go out together when it returns. `drain()` waits for everything queued and rethrows the first write error
 * (rows whose outcome could not be written stay in 'sending', for reconciliation, as after a crash).
 */
export class SettlementWriter {
  private queue: Settlement[] = [];
  private running: Promise<void> | null = null;
  private error: unknown = null;
  readonly settled = new Set<string>();

  constructor(private readonly write: (batch: readonly Settlement[]) => Promise<Set<string>>) {}

  add(settlement: Settlement): void {
    this.queue.push(settlement);
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  async drain(): Promise<void> {
    while (this.running !== null) await this.running;
    if (this.error !== null) throw this.error;
  }

  private async loop(): Promise<void> {
    // Let the sends that finish in the same tick join this batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        for (const key of await this.write(batch)) this.settled.add(key);
      } catch (error) {
        this.error ??= error;
      }
    }
  }
}
