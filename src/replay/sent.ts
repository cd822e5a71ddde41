import type { Kysely } from 'kysely';
import { emailStreamId, type EmailEvent, type EmailSent } from '../domain/deliveries/events.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import type { Database } from '../projections/db/schema.js';

/**
 * "What was sent": one recipient's email of one campaign, from its email stream (`email-<campaign>_<contact>`),
 * the truth the delivery saga recorded: the pinned campaign revision, template version, variant, rendered subject
 * and content hash, the send time, and what happened afterwards.
 */
export type DeliveryOutcome = 'sent' | 'bounced' | 'complained' | 'failed' | 'render_failed';

export interface DeliveryRecord {
  readonly streamId: string;
  readonly workspaceId: string;
  readonly campaignId: string;
  readonly contactId: string;
  readonly outcome: DeliveryOutcome;
  /** The last EmailSent of the stream (a resend round can follow a failure); null when nothing was sent. */
  readonly sent: (EmailSent['data'] & { readonly position: bigint }) | null;
  /** Why it failed or bounced (the newest such event). */
  readonly failureReason: string | null;
  readonly opens: number;
  readonly clicks: number;
  readonly events: readonly RecordedEvent[];
}

/** The record of one email stream, or null when it has no events of this workspace. */
export function deliveryRecordOf(events: readonly RecordedEvent[], workspaceId: string): DeliveryRecord | null {
  const first = events[0];
  if (first === undefined || first.metadata.workspaceId !== workspaceId) return null;
  const [campaignId, contactId] = first.streamId.slice('email-'.length).split('_') as [string, string];
  let outcome: DeliveryOutcome | null = null;
  let sent: DeliveryRecord['sent'] = null;
  let failureReason: string | null = null;
  let opens = 0;
  let clicks = 0;
  for (const recorded of events) {
    const event = recorded as unknown as EmailEvent;
    switch (event.type) {
      case 'EmailSent':
        sent = { ...event.data, position: recorded.position };
        outcome = 'sent';
        failureReason = null;
        break;
      case 'EmailFailed':
        if (sent === null) [outcome, failureReason] = ['failed', event.data.reason];
        break;
      case 'EmailRenderFailed':
        if (sent === null) [outcome, failureReason] = ['render_failed', event.data.reason];
        break;
      case 'EmailBounced':
        [outcome, failureReason] = ['bounced', `${event.data.kind} bounce: ${event.data.reason}`];
        break;
      case 'EmailComplained':
        outcome = 'complained';
        break;
      case 'EmailOpened':
        opens++;
        break;
      case 'EmailClicked':
        clicks++;
        break;
    }
  }
  if (outcome === null) return null; // engagement without an outcome: nothing the saga sent
  return { streamId: first.streamId, workspaceId, campaignId, contactId, outcome, sent, failureReason, opens, clicks, events };
}

export interface DeliveryDeps {
  readonly eventStore: EventStore;
  readonly db: Kysely<Database>;
}

/** One campaign's email to one contact, or null when there is none in this workspace. */
export async function findDelivery(deps: DeliveryDeps, workspaceId: string, campaignId: string, contactId: string): Promise<DeliveryRecord | null> {
  const read = await deps.eventStore.readStream(emailStreamId(campaignId, contactId));
  return read.status === 'found' ? deliveryRecordOf(read.events, workspaceId) : null;
}

/**
 * Every email of the contact, newest first. The delivery ledger names the campaigns that had the contact in
 * their audience (its rows are the saga's record of side effects); the email streams themselves say what was sent.
 */
export async function deliveriesOfContact(deps: DeliveryDeps, workspaceId: string, contactId: string): Promise<DeliveryRecord[]> {
  const rows = await deps.db.selectFrom('delivery_ledger').select('campaign_id').distinct().where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).execute();
  if (rows.length === 0) return [];
  const streams = await deps.eventStore.readStreams(rows.map((r) => emailStreamId(r.campaign_id, contactId)));
  const records = [...streams.values()].map((events) => deliveryRecordOf(events, workspaceId)).filter((r): r is DeliveryRecord => r !== null);
  const timeOf = (r: DeliveryRecord) => Date.parse(r.sent?.sentAt ?? r.events.at(-1)!.recordedAt.toISOString());
  return records.sort((a, b) => timeOf(b) - timeOf(a) || a.campaignId.localeCompare(b.campaignId));
}
