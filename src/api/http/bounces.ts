import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import { emailStreamId, type EmailBounced, type EmailComplained } from '../../domain/deliveries/events.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { suppressContact } from '../../sagas/delivery/contactFeedback.js';
import { DeliveryLedger, type DeliveryLedgerRow } from '../../sagas/delivery/ledger.js';
import type { DeliveryTables } from '../../sagas/delivery/tables.js';
import type { ServerDeps } from '../deps.js';
import { forbidden } from '../errors.js';
import type { Principal } from '../iam/principal.js';
import { parseBounceWebhook, type BounceReport } from './bounceReports.js';

/**
 * `POST /webhooks/bounces` (API key of role service or admin): bounce and complaint reports, generic JSON or
 * Amazon SES (formats in bounceReports.ts). A report is matched to our email by Message-ID through the delivery
 * ledger (within the key's workspace) and appended to the recipient's email stream as EmailBounced /
 * EmailComplained; a hard bounce or a complaint also suppresses the contact through the contact aggregate.
 * A Message-ID we do not know is stored in `unmatched_bounces` and answered 202 like the rest, so a provider
 * never retries it forever. A malformed body is refused (400, naming the field) before anything is recorded.
 * Retried reports are harmless: event ids and the suppression's command id derive from the report.
 */

const WEBHOOK_ROLES: readonly Principal['role'][] = ['service', 'admin'];

export const bouncesPlugin = fp<{ deps: ServerDeps }>(
  async (app, { deps }) => {
    const ledger = new DeliveryLedger(deps.db);
    // Until schema.ts's Database extends DeliveryTables.
    const db = deps.db.withTables<DeliveryTables>();

    async function recordUnmatched(workspaceId: string, report: BounceReport): Promise<void> {
      const messageId = report.messageIds[0] ?? '';
      const dedupeKey = createHash('sha256').update(JSON.stringify([workspaceId, report.source, report.kind, report.bounceType, report.messageIds, report.at])).digest('hex');
      await db
        .insertInto('unmatched_bounces')
        .values({ workspace_id: workspaceId, dedupe_key: dedupeKey, message_id: messageId, kind: report.kind, bounce_type: report.bounceType, source: report.source, reason: report.reason, occurred_at: report.at, payload: JSON.stringify(report.payload) })
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .execute();
    }

    async function recordMatched(row: DeliveryLedgerRow, report: BounceReport, principal: Principal, correlationId: string): Promise<void> {
      const base = { campaignId: row.campaign_id, contactId: row.contact_id, messageId: row.message_id, source: report.source, at: report.at };
      const event: EmailBounced | EmailComplained =
        report.kind === 'bounce'
          ? { type: 'EmailBounced', data: { ...base, kind: report.bounceType ?? 'soft', reason: report.reason ?? '' } }
          : { type: 'EmailComplained', data: base };
      const eventId = deterministicUuid(`report:${row.idempotency_key}:${report.kind}:${report.bounceType ?? ''}:${report.at}`);
      const metadata = { correlationId, causationId: null, commandId: null, actor: principal.actor, workspaceId: row.workspace_id, schemaVersion: 1 };
      // Re-appending the same id to the same stream is a no-op in the store: a retried report is recorded once.
      await deps.eventStore.append(emailStreamId(row.campaign_id, row.contact_id), [{ id: eventId, type: event.type, data: event.data, metadata }], { expectedRevision: 'any' });
      if (report.kind === 'bounce' && report.bounceType !== 'hard') return;
      const suppressed = await suppressContact(
        deps.eventStore,
        { contactId: row.contact_id, reason: report.kind === 'bounce' ? 'hard_bounce' : 'complaint', detail: report.reason, at: report.at, reportId: eventId },
        { workspaceId: row.workspace_id, correlationId, causationId: eventId, actor: principal.actor },
      );
      if (suppressed === null) app.log.warn({ correlationId, contactId: row.contact_id }, 'bounce for a contact that no longer exists; not suppressed');
    }

    app.post('/webhooks/bounces', async (request, reply) => {
      const principal = request.principal!;
      if (!WEBHOOK_ROLES.includes(principal.role)) throw forbidden('Bounce webhooks need an API key of role service or admin.');
      const parsed = parseBounceWebhook(request.body, new Date());
      if (parsed.kind === 'sns_subscription') {
        request.log.warn({ subscribeUrl: parsed.subscribeUrl }, 'SNS subscription confirmation received; confirm it by visiting SubscribeURL');
        return reply.code(202).send({ received: 0, matched: 0, unmatched: 0, ignored: 1 });
      }
      let matched = 0;
      let unmatched = 0;
      for (const report of parsed.reports) {
        const row = await ledger.findByMessageId(principal.workspaceId, report.messageIds);
        if (row === undefined) {
          await recordUnmatched(principal.workspaceId, report);
          unmatched++;
        } else {
          await recordMatched(row, report, principal, request.correlationId);
          matched++;
        }
      }
      if (unmatched > 0) request.log.info({ unmatched }, 'bounce reports for unknown Message-IDs kept in unmatched_bounces');
      return reply.code(202).send({ received: parsed.reports.length + parsed.ignored, matched, unmatched, ignored: parsed.ignored });
    });
  },
  { name: 'bounces', fastify: '5.x', dependencies: ['errors', 'correlation', 'auth'] },
);
