import type { Kysely } from 'kysely';
import { type AudienceExclusions, type LaunchCounts, type LaunchPauser } from '../../domain/launches/events.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import { tallyLedger, type LedgerTally } from './launchLedger.js';
import { loadLaunch } from './streams.js';
import { roundOf, type LaunchStatus } from './workflow.js';

/** A launch as the dashboard sees it: its state from the launch stream, its live counts from the ledger. */
export interface LaunchView {
  readonly campaignId: string;
  readonly status: Exclude<LaunchStatus, 'none'>;
  readonly round: number;
  readonly startedAt: string;
  readonly audienceSize: number | null;
  readonly audienceHash: string | null;
  readonly variantSizes: Readonly<Record<string, number>> | null;
  readonly excluded: AudienceExclusions | null;
  readonly pause: { readonly by: LaunchPauser; readonly reason: string | null; readonly at: string } | null;
  /** Why it was compensated, cancelled or failed. */
  readonly endReason: string | null;
  /** The counts recorded when it ended (null while it runs). */
  readonly finalCounts: LaunchCounts | null;
  readonly ledger: LedgerTally;
}

/** The workspace's launch of a campaign, or null. */
export async function findLaunch(eventStore: EventStore, db: Kysely<Database>, workspaceId: string, campaignId: string): Promise<LaunchView | null> {
  const launch = await loadLaunch(eventStore, campaignId);
  const { state } = launch;
  if (state.status === 'none' || launch.workspaceId !== workspaceId) return null;
  const { events } = launch;
  const attemptStart = events.findLast((e) => e.type === 'LaunchStarted')?.revision ?? 0;
  const frozen = events.findLast((e) => e.type === 'AudienceFrozen' && e.revision > attemptStart)?.data as
    | { audienceSize: number; hash: string; variantSizes: Record<string, number> | null; excluded: AudienceExclusions }
    | undefined;
  return {
    campaignId,
    status: state.status,
    round: roundOf(state),
    startedAt: state.plan.at,
    audienceSize: frozen?.audienceSize ?? null,
    audienceHash: frozen?.hash ?? null,
    variantSizes: frozen?.variantSizes ?? null,
    excluded: frozen?.excluded ?? null,
    pause: state.status === 'paused' ? state.pause : null,
    endReason: state.status === 'compensated' || state.status === 'cancelled' || state.status === 'failed' ? state.reason : null,
    finalCounts: 'counts' in state ? state.counts : null,
    ledger: await tallyLedger(db, campaignId),
  };
}
