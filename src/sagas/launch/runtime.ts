import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { EventStore } from '../../eventstore/port.js';
import { Leadership } from '../../infra/leadership.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../projections/db/schema.js';
import type { DeliveryLedger, Reconciler } from '../delivery/ledger.js';
import type { EmailSender } from '../delivery/smtpSender.js';
import type { RenderSettings } from './rendering.js';
import { DEFAULT_RENDER_FAILURE_THRESHOLD, type RenderFailureThreshold } from './renderThreshold.js';

/** Knobs of the launch saga; the defaults suit production, tests shorten the waits. */
export interface LaunchSagaSettings {
  /** Ledger rows claimed per delivery batch (pause takes effect between batches). */
  readonly batchSize: number;
  /** How often launches are looked for (crash recovery, and launches other workers started). */
  readonly pollIntervalMs: number;
  /** Wait before claiming again when nothing was claimable but the launch is not done. */
  readonly idleDelayMs: number;
  /** Each preflight check (SMTP verify). */
  readonly preflightTimeoutMs: number;
  /** Audience extraction as a whole (rolled back when exceeded, then compensated). */
  readonly freezeTimeoutMs: number;
  /** A 'sending' row this old is settled by the reconciler; must exceed the longest a live send can take. */
  readonly staleSendingAfterMs: number;
  /** A claim on a pending row this old is given up (its worker died); should exceed a batch's duration. */
  readonly claimLeaseMs: number;
  readonly renderFailureThreshold: RenderFailureThreshold;
  /** JetStream redelivers a campaign event the follower did not acknowledge within this. */
  readonly followerAckWaitMs: number;
}

export const DEFAULT_LAUNCH_SAGA_SETTINGS: LaunchSagaSettings = {
  batchSize: 50,
  pollIntervalMs: 1_000,
  idleDelayMs: 250,
  preflightTimeoutMs: 30_000,
  freezeTimeoutMs: 10 * 60_000,
  // The SMTP sender's defaults: 4 attempts × 60 s socket timeout + backoff stay well below this.
  staleSendingAfterMs: 10 * 60_000,
  claimLeaseMs: 2 * 60_000,
  renderFailureThreshold: DEFAULT_RENDER_FAILURE_THRESHOLD,
  followerAckWaitMs: 15_000,
};

/** What every step of the saga uses. */
export interface SagaRuntime {
  readonly eventStore: EventStore;
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly ledger: DeliveryLedger;
  readonly sender: EmailSender | null;
  readonly reconciler: Reconciler;
  readonly render: RenderSettings;
  readonly workerId: string;
  readonly settings: LaunchSagaSettings;
  readonly logger: Logger;
  readonly now: () => Date;
}

/**
 * Runs `work` while holding the launch's orchestration lock (a PostgreSQL advisory lock, as for projection
 * leadership): one worker at a time prepares a launch. Returns false without running it when another worker
 * holds the lock; that worker is on it.
 */
export async function withLaunchLock(rt: SagaRuntime, campaignId: string, work: () => Promise<void>): Promise<boolean> {
  const lock = new Leadership(rt.pool, `launch-saga:${campaignId}`);
  if (!(await lock.tryAcquire())) return false;
  try {
    await work();
    return true;
  } finally {
    await lock.release();
  }
}
