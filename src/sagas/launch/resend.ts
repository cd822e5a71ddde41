import type { Kysely } from 'kysely';
import type { ResendToFailedStarted } from '../../domain/launches/events.js';
import type { CommandContext } from '../../domain/shared/decider.js';
import type { CommandResult } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import { databaseNow, renderTallyOf, requeueFailed, tallyLedger } from './launchLedger.js';
import { runLaunchCommand } from './streams.js';

export interface ResendOutcome {
  readonly result: CommandResult<{ type: string; data: unknown }>;
  /** The new send round (2, 3, ...). */
  readonly round: number;
  /** Failed recipients the round sends to. */
  readonly count: number;
}

/**
 * ResendToFailed: ResendToFailedStarted on a completed launch, then its failed ledger rows back to pending (only
 * rows settled before the round's start, so rows failing again in this round stay failed). The requeue runs again
 * when the command is repeated with its command id (it is idempotent), which also finishes a resend whose process
 * died between the two. The saga's workers find the pending rows and deliver the round.
 */
export async function resendToFailed(deps: { readonly eventStore: EventStore; readonly db: Kysely<Database> }, campaignId: string, context: CommandContext): Promise<ResendOutcome> {
  const at = await databaseNow(deps.db);
  const tally = await tallyLedger(deps.db, campaignId);
  const count = tally.failed + tally.renderFailed;
  // The render-failure threshold counts from what the ledger will hold once the failed rows are pending again.
  const baseline = { attempted: renderTallyOf(tally).attempted - count, renderFailed: 0 };
  const result = await runLaunchCommand(deps.eventStore, campaignId, { type: 'ResendToFailed', data: { count, tally: baseline, at: at.toISOString() } }, context);
  const started = result.events.find((e): e is ResendToFailedStarted => e.type === 'ResendToFailedStarted');
  if (started === undefined) throw new Error(`ResendToFailed on campaign ${campaignId} recorded no ResendToFailedStarted`);
  await requeueFailed(deps.db, campaignId, new Date(started.data.at));
  return { result, round: started.data.round, count: started.data.count };
}
