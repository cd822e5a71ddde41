import { createHash } from 'node:crypto';
import type { Logger } from '../../infra/logger.js';
import { countDeliveries, emailsFailed } from '../../infra/metrics.js';
import { withSpan } from '../../infra/spans.js';
import { CircuitOpenError } from './circuitBreaker.js';
import type { DeliveryLedger, DeliveryLedgerRow } from './ledger.js';
import { SettlementWriter } from './ledgerBatch.js';
import { ProviderUnavailableError, type EmailSender, type OutgoingEmail } from './smtpSender.js';

/** A recipient's email, rendered; what the saga's render step returns for a claimed ledger row. */
export interface RenderedEmail {
  readonly message: OutgoingEmail;
  readonly campaignRevision: number;
  readonly templateId: string;
  readonly templateVersion: number;
}

export interface DeliverBatchOptions {
  readonly ledger: DeliveryLedger;
  readonly sender: EmailSender;
  readonly campaignId: string;
  readonly workerId: string;
  readonly batchSize: number;
  /** Claim rows after this key first (the previous round's `claimedUpTo`); null: from the start. */
  readonly claimAfter?: string | null;
  /** Throws when this recipient cannot be rendered (recorded as EmailRenderFailed). */
  readonly render: (row: DeliveryLedgerRow) => Promise<RenderedEmail>;
  readonly logger: Logger;
}

export interface DeliverBatchReport {
  readonly claimed: number;
  readonly sent: number;
  readonly failed: number;
  readonly renderFailed: number;
  /** Put back to pending: the provider was not reachable or the circuit was open. */
  readonly requeued: number;
  /** Left in 'sending' for reconciliation: the connection broke mid-session, or an unexpected error. */
  readonly inDoubt: number;
  /** The circuit opened: the saga should pause the campaign. */
  readonly circuitOpen: boolean;
  /** Where the next round's claim should continue (`claimAfter`). */
  readonly claimedUpTo: string | null;
  /** The keys of every row this round claimed (those settled have an outcome to record). */
  readonly claimedKeys: readonly string[];
}

/** sha256 (hex) of the rendered subject, html and text: EmailSent proves what was sent. */
export function contentHashOf(message: Pick<OutgoingEmail, 'subject' | 'html' | 'text'>): string {
  return createHash('sha256').update(message.subject).update('\0').update(message.html).update('\0').update(message.text).digest('hex');
}

/**
 * One round of a delivery worker: claim a batch, render every row, pre-send mark the rendered rows in one
 * statement, send them concurrently (the sender enforces rate and concurrency), and write the outcomes in
 * batches as they arrive (see the exactly-once argument in ledger.ts; the batched statements keep each row's
 * guard, ledgerBatch.ts). Once the circuit is open the remaining rows fail fast and go back to pending.
 */
export function deliverBatch(options: DeliverBatchOptions): Promise<DeliverBatchReport> {
  return withSpan('delivery.batch', { 'campaign.id': options.campaignId, 'delivery.worker': options.workerId }, async (span) => {
    const report = await deliverClaimedBatch(options);
    countDeliveries(report);
    span?.setAttributes({ 'delivery.claimed': report.claimed, 'delivery.sent': report.sent, 'delivery.failed': report.failed });
    return report;
  });
}

async function deliverClaimedBatch(options: DeliverBatchOptions): Promise<DeliverBatchReport> {
  const { ledger, sender, workerId } = options;
  const log = options.logger.child({ component: 'delivery', campaignId: options.campaignId, workerId });
  const { rows, claimedUpTo } = await claimFrom(ledger, options);
  const counts = { sent: 0, failed: 0, renderFailed: 0, requeued: 0, inDoubt: 0 };
  let circuitOpen = false;

  // Render (concurrently: the renderer may batch its reads); a row that cannot be rendered is recorded as such.
  const rendered = await Promise.all(
    rows.map(async (row) => {
      try {
        return { row, email: await options.render(row) };
      } catch (error) {
        if (await ledger.markRenderFailed(row.idempotency_key, workerId, error instanceof Error ? error.message : String(error))) counts.renderFailed++;
        return null;
      }
    }),
  );
  const toSend: { row: DeliveryLedgerRow; email: RenderedEmail }[] = [];
  for (const entry of rendered) {
    if (entry === null) continue;
    if (sender.circuitState === 'open') {
      circuitOpen = true;
      await ledger.releaseClaim(entry.row.idempotency_key, workerId);
      counts.requeued++;
      continue;
    }
    toSend.push(entry);
  }

  // The pre-send marks, committed before any of these rows is handed to SMTP.
  const marked = await ledger.markSendingMany(
    workerId,
    toSend.map(({ row, email }) => ({
      key: row.idempotency_key,
      content: { campaignRevision: email.campaignRevision, templateId: email.templateId, templateVersion: email.templateVersion, subject: email.message.subject, contentHash: contentHashOf(email.message) },
    })),
  );
  const outcomes = new SettlementWriter((batch) => ledger.settleMany(batch));
  const kinds = new Map<string, 'sent' | 'failed' | 'requeued'>();
  await Promise.all(
    toSend.map(async ({ row, email }) => {
      const key = row.idempotency_key;
      if (!marked.has(key)) {
        log.warn({ key }, 'lost the claim on a ledger row before sending; skipped');
        return;
      }
      try {
        const result = await sender.send(email.message);
        if (result.accepted) {
          kinds.set(key, 'sent');
          outcomes.add({ key, outcome: 'sent', attempts: result.attempts });
        } else {
          const kind = result.smtpCode !== null && result.smtpCode < 500 ? 'temporary' : 'permanent';
          kinds.set(key, 'failed');
          emailsFailed.inc({ reason: kind });
          outcomes.add({ key, outcome: 'failed', failure: { kind, smtpCode: result.smtpCode, reason: result.response, attempts: result.attempts } });
        }
      } catch (error) {
        if (error instanceof CircuitOpenError || error instanceof ProviderUnavailableError) {
          // Nothing was handed over: resending later is safe.
          circuitOpen ||= error instanceof CircuitOpenError || sender.circuitState !== 'closed';
          kinds.set(key, 'requeued');
          outcomes.add({ key, outcome: 'pending', reason: error.message });
          return;
        }
        log.warn({ key, err: error }, 'send outcome in doubt; the row stays in sending for reconciliation');
        counts.inDoubt++;
      }
    }),
  );
  await outcomes.drain();
  for (const key of outcomes.settled) {
    const kind = kinds.get(key);
    if (kind !== undefined) counts[kind]++;
  }
  return { claimed: rows.length, ...counts, circuitOpen, claimedUpTo, claimedKeys: rows.map((r) => r.idempotency_key) };
}

/**
 * Claims continue in key order after the previous round's last key: the keys before it belong to rows that already
 * left 'pending', and their index entries stay in the claim's index range until vacuum removes them, so a claim
 * from the start would walk every row the launch has sent so far (O(N) per claim, O(N²) per launch). Only when
 * the rest comes up short does it start over, which also finds rows requeued or released behind the cursor.
 */
async function claimFrom(ledger: DeliveryLedger, options: DeliverBatchOptions): Promise<{ rows: DeliveryLedgerRow[]; claimedUpTo: string | null }> {
  const after = options.claimAfter ?? null;
  const rows = after === null ? [] : await ledger.claimBatch(options.campaignId, options.batchSize, options.workerId, undefined, after);
  if (rows.length === options.batchSize) return { rows, claimedUpTo: lastKeyOf(rows) };
  const wrapped = await ledger.claimBatch(options.campaignId, options.batchSize - rows.length, options.workerId);
  return { rows: [...rows, ...wrapped], claimedUpTo: lastKeyOf(wrapped) };
}

function lastKeyOf(rows: readonly DeliveryLedgerRow[]): string | null {
  let last: string | null = null;
  for (const row of rows) if (last === null || row.idempotency_key > last) last = row.idempotency_key;
  return last;
}
