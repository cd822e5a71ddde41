/** Live progress of a launch from the delivery ledger, and the wait for the launch to end. */
import type { Kysely } from 'kysely';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import { loadLaunch, type LoadedLaunch } from '../launch/streams.js';
import { TERMINAL_LAUNCH_STATUSES } from '../launch/workflow.js';

export type Write = (line: string) => void;

export async function ledgerCounts(db: Kysely<Database>, campaignId: string): Promise<Record<string, number>> {
  const rows = await db.selectFrom('delivery_ledger').select(['status', db.fn.countAll<string>().as('n')]).where('campaign_id', '=', campaignId).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Prints sent/failed per second until the launch is terminal; throws after `timeoutMs`. */
export async function followLaunch(deps: { db: Kysely<Database>; eventStore: EventStore }, campaignId: string, write: Write, timeoutMs: number): Promise<LoadedLaunch> {
  const started = Date.now();
  let last = { sent: 0, failed: 0, at: started };
  for (;;) {
    const launch = await loadLaunch(deps.eventStore, campaignId);
    const counts = await ledgerCounts(deps.db, campaignId);
    const sent = counts.sent ?? 0;
    const failed = counts.failed ?? 0;
    const at = Date.now();
    const seconds = Math.max((at - last.at) / 1000, 0.001);
    const pending = (counts.pending ?? 0) + (counts.sending ?? 0);
    write(
      `  [${((at - started) / 1000).toFixed(1).padStart(5)}s] ${launch.state.status.padEnd(10)} sent ${String(sent).padStart(5)} (${Math.round((sent - last.sent) / seconds)}/s)  failed ${failed} (${Math.round((failed - last.failed) / seconds)}/s)  pending ${pending}`,
    );
    last = { sent, failed, at };
    if (TERMINAL_LAUNCH_STATUSES.includes(launch.state.status)) return launch;
    if (at - started > timeoutMs) throw new Error(`the launch is still ${launch.state.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
