import { deterministicUuid } from '../../domain/shared/ids.js';
import { emailStreamId, type EmailFailed, type EmailRenderFailed, type EmailSent } from '../../domain/deliveries/events.js';
import { AppendManyError, InvalidAppendError, WrongExpectedRevisionError } from '../../eventstore/errors.js';
import type { EventStore, NewEvent, StreamAppend } from '../../eventstore/port.js';
import type { DeliveryLedger, DeliveryLedgerRow } from './ledger.js';

export const LAUNCH_SAGA_ACTOR = 'saga:launch';
const CONFLICT_RETRIES = 5;

type OutcomeEvent = EmailSent | EmailFailed | EmailRenderFailed;

export interface RecordOutcomesOptions {
  readonly eventStore: EventStore;
  readonly ledger: DeliveryLedger;
  readonly campaignId: string;
  /** The launch's correlation id: every outcome event carries it. */
  readonly correlationId: string;
  readonly batchSize?: number;
  /** Only these rows (those a worker just settled); default every unrecorded row of the campaign. */
  readonly keys?: readonly string[];
}

/**
 * Appends the outcome event of every settled, unrecorded ledger row of the campaign, one appendMany per batch
 * (each recipient's email stream is new: expected 'no_stream'), then marks the rows recorded.
 *
 * Crash safety: the event id is `deterministicUuid('email:<key>:<type>')`. A crash between the append and
 * markRecorded leaves rows whose event is already stored; the next run's batch then fails (duplicate id or
 * existing stream), and each row falls back to its own append, which treats "my event is already in the
 * stream" as success. So every outcome is in the store exactly once, however often this runs.
 */
export async function recordOutcomes(options: RecordOutcomesOptions): Promise<{ recorded: number }> {
  const { eventStore, ledger, campaignId, correlationId, keys } = options;
  const batchSize = options.batchSize ?? 500;
  let recorded = 0;
  for (;;) {
    const rows = await ledger.outcomesToRecord(campaignId, batchSize, keys);
    if (rows.length === 0) return { recorded };
    const appends = rows.map((row) => appendFor(row, correlationId));
    try {
      await eventStore.appendMany(appends);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError || error instanceof AppendManyError || error instanceof InvalidAppendError)) throw error;
      for (const append of appends) await appendOnce(eventStore, append);
    }
    await ledger.markRecorded(rows.map((r) => r.idempotency_key));
    recorded += rows.length;
  }
}

/** One recipient's outcome; already recorded counts as success. */
async function appendOnce(eventStore: EventStore, append: StreamAppend): Promise<void> {
  const event = append.events[0]!;
  for (let attempt = 0; ; attempt++) {
    const read = await eventStore.readStream(append.streamId);
    const history = read.status === 'found' ? read.events : [];
    if (history.some((e) => e.id === event.id)) return;
    try {
      // The stream may already hold events (a bounce that beat the outcome, or an earlier outcome of a resend).
      await eventStore.append(append.streamId, append.events, { expectedRevision: history.length === 0 ? 'no_stream' : history.length - 1 });
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= CONFLICT_RETRIES) throw error;
    }
  }
}

export function outcomeEventOf(row: DeliveryLedgerRow): OutcomeEvent {
  const base = { campaignId: row.campaign_id, variantKey: row.variant_key, contactId: row.contact_id };
  if (row.status === 'sent') {
    if (row.sent_at === null || row.template_id === null || row.template_version === null || row.campaign_revision === null || row.subject === null || row.content_hash === null) {
      throw new Error(`Ledger row ${row.idempotency_key} is sent but lacks what was sent (no pre-send mark?)`);
    }
    return {
      type: 'EmailSent',
      data: {
        ...base,
        email: row.email,
        messageId: row.message_id,
        campaignRevision: row.campaign_revision,
        templateId: row.template_id,
        templateVersion: row.template_version,
        subject: row.subject,
        contentHash: row.content_hash,
        sentAt: row.sent_at.toISOString(),
      },
    };
  }
  if (row.status !== 'failed') throw new Error(`Ledger row ${row.idempotency_key} is ${row.status}: no outcome to record`);
  const at = (row.failed_at ?? row.updated_at).toISOString();
  const reason = row.last_error ?? 'unknown';
  if (row.failure_kind === 'render') return { type: 'EmailRenderFailed', data: { ...base, reason, at } };
  return {
    type: 'EmailFailed',
    data: {
      ...base,
      email: row.email,
      messageId: row.message_id,
      permanent: true,
      smtpCode: row.smtp_code,
      reason,
      attempts: row.attempts,
      at,
    },
  };
}

function appendFor(row: DeliveryLedgerRow, correlationId: string): StreamAppend {
  const event = outcomeEventOf(row);
  const newEvent: NewEvent = {
    id: deterministicUuid(`email:${row.idempotency_key}:${event.type}`),
    type: event.type,
    data: event.data,
    metadata: { correlationId, causationId: null, commandId: null, actor: LAUNCH_SAGA_ACTOR, workspaceId: row.workspace_id, schemaVersion: 1 },
  };
  return { streamId: emailStreamId(row.campaign_id, row.contact_id), events: [newEvent], expectedRevision: 'no_stream' };
}
