import { emailStreamId } from '../../domain/deliveries/events.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { WrongExpectedRevisionError } from '../../eventstore/errors.js';
import type { EventStore } from '../../eventstore/port.js';
import type { DeliveryLedger, DeliveryLedgerRow } from '../delivery/ledger.js';
import { LAUNCH_SAGA_ACTOR, outcomeEventOf, recordOutcomes } from '../delivery/recordOutcomes.js';

/**
 * Outcome events per send round. Round 1 is the delivery slice's recordOutcomes (event id
 * `email:<key>:<type>`). A resend round sends to recipients whose round-1 outcome (EmailFailed or
 * EmailRenderFailed) is already in their email stream, so its events get ids naming the round
 * (`email:<key>:<type>:round-<n>`): a second failure is recorded as a new event instead of being taken for the
 * first one, and re-running this after a crash still finds each round's event and appends it once.
 */

export interface RecordRoundOptions {
  readonly eventStore: EventStore;
  readonly ledger: DeliveryLedger;
  readonly campaignId: string;
  readonly correlationId: string;
  /** The send round the unrecorded rows settled in (the launch's current round). */
  readonly round: number;
  /** Only these rows (a round's claimed keys); default every unrecorded row of the campaign. */
  readonly keys?: readonly string[];
}

const BATCH = 200;
const CONFLICT_RETRIES = 5;

export async function recordRoundOutcomes(options: RecordRoundOptions): Promise<number> {
  const { eventStore, ledger, campaignId, correlationId, round, keys } = options;
  if (round <= 1) return (await recordOutcomes({ eventStore, ledger, campaignId, correlationId, ...(keys === undefined ? {} : { keys }) })).recorded;
  let recorded = 0;
  for (;;) {
    const rows = await ledger.outcomesToRecord(campaignId, BATCH, keys);
    if (rows.length === 0) return recorded;
    for (const row of rows) await appendRoundOutcome(eventStore, row, round, correlationId);
    await ledger.markRecorded(rows.map((r) => r.idempotency_key));
    recorded += rows.length;
  }
}

async function appendRoundOutcome(eventStore: EventStore, row: DeliveryLedgerRow, round: number, correlationId: string): Promise<void> {
  const outcome = outcomeEventOf(row);
  const id = deterministicUuid(`email:${row.idempotency_key}:${outcome.type}:round-${round}`);
  const streamId = emailStreamId(row.campaign_id, row.contact_id);
  const metadata = { correlationId, causationId: null, commandId: null, actor: LAUNCH_SAGA_ACTOR, workspaceId: row.workspace_id, schemaVersion: 1 };
  for (let attempt = 0; ; attempt++) {
    const read = await eventStore.readStream(streamId);
    const history = read.status === 'found' ? read.events : [];
    if (history.some((e) => e.id === id)) return;
    try {
      await eventStore.append(streamId, [{ id, type: outcome.type, data: outcome.data, metadata }], { expectedRevision: history.length === 0 ? 'no_stream' : history.length - 1 });
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= CONFLICT_RETRIES) throw error;
    }
  }
}
