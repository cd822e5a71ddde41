import { createHash } from 'node:crypto';
import type { Logger } from '../../infra/logger.js';
import { CircuitOpenError } from './circuitBreaker.js';
import type { DeliveryLedger, DeliveryLedgerRow } from './ledger.js';
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
}

/** sha256 (hex) of the rendered subject, html and text: EmailSent proves what was sent. */
export function contentHashOf(message: Pick<OutgoingEmail, 'subject' | 'html' | 'text'>): string {
  return createHash('sha256').update(message.subject).update('\0').update(message.html).update('\0').update(message.text).digest('hex');
}

/**
 * One round of a delivery worker: claim a batch, and for each row render → pre-send mark → SMTP → outcome mark
 * (see the exactly-once argument in ledger.ts). Sends run concurrently; the sender enforces rate and
 * concurrency. Once the circuit is open the remaining rows fail fast and go back to pending.
 */
export async function deliverBatch(options: DeliverBatchOptions): Promise<DeliverBatchReport> {
  const { ledger, sender, workerId } = options;
  const log = options.logger.child({ component: 'delivery', campaignId: options.campaignId, workerId });
  const rows = await ledger.claimBatch(options.campaignId, options.batchSize, workerId);
  const counts = { sent: 0, failed: 0, renderFailed: 0, requeued: 0, inDoubt: 0 };
  let circuitOpen = false;

  await Promise.all(
    rows.map(async (row) => {
      const key = row.idempotency_key;
      let rendered: RenderedEmail;
      try {
        rendered = await options.render(row);
      } catch (error) {
        if (await ledger.markRenderFailed(key, workerId, error instanceof Error ? error.message : String(error))) counts.renderFailed++;
        return;
      }
      if (sender.circuitState === 'open') {
        circuitOpen = true;
        await ledger.releaseClaim(key, workerId);
        counts.requeued++;
        return;
      }
      const { message } = rendered;
      const content = { campaignRevision: rendered.campaignRevision, templateId: rendered.templateId, templateVersion: rendered.templateVersion, subject: message.subject, contentHash: contentHashOf(message) };
      if (!(await ledger.markSending(key, workerId, content))) {
        log.warn({ key }, 'lost the claim on a ledger row before sending; skipped');
        return;
      }
      try {
        const result = await sender.send(message);
        if (result.accepted) {
          await ledger.markSent(key, result.attempts);
          counts.sent++;
        } else {
          const kind = result.smtpCode !== null && result.smtpCode < 500 ? 'temporary' : 'permanent';
          await ledger.markFailed(key, { kind, smtpCode: result.smtpCode, reason: result.response, attempts: result.attempts });
          counts.failed++;
        }
      } catch (error) {
        if (error instanceof CircuitOpenError || error instanceof ProviderUnavailableError) {
          // Nothing was handed over: resending later is safe.
          circuitOpen ||= error instanceof CircuitOpenError || sender.circuitState !== 'closed';
          await ledger.returnToPending(key, error.message);
          counts.requeued++;
          return;
        }
        log.warn({ key, err: error }, 'send outcome in doubt; the row stays in sending for reconciliation');
        counts.inDoubt++;
      }
    }),
  );
  return { claimed: rows.length, ...counts, circuitOpen };
}
