import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { EventStore } from '../../eventstore/port.js';
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../projections/db/schema.js';
import { DeliveryLedger, noReconciler, type Reconciler } from '../delivery/ledger.js';
import { createSmtpSender, type EmailSender } from '../delivery/smtpSender.js';
import { deliverLaunch } from './delivery.js';
import { CampaignEventFollower } from './follower.js';
import { campaignsWithLedgerWork } from './launchLedger.js';
import { driveLaunch } from './orchestration.js';
import { NO_SMTP_PROVIDER } from './preflight.js';
import { DEFAULT_LAUNCH_SAGA_SETTINGS, type LaunchSagaSettings, type SagaRuntime } from './runtime.js';

export interface LaunchSagaDeps {
  readonly eventStore: EventStore;
  readonly db: Kysely<Database>;
  /** Advisory locks (follower leadership, one launch's orchestration) each hold one connection while held. */
  readonly pool: pg.Pool;
  readonly nats: NatsConnection;
  readonly prefix: string;
  readonly logger: Logger;
  /** null: no SMTP provider (SMTP_URL unset); launches compensate at preflight. */
  readonly sender: EmailSender | null;
  readonly trackingSecret: string;
  readonly publicBaseUrl: string;
  /** Settles sends left in doubt by Message-ID; default: none (such rows end as 'unknown', never resent). */
  readonly reconciler?: Reconciler;
  readonly workerId?: string;
  readonly settings?: Partial<LaunchSagaSettings>;
  readonly now?: () => Date;
}

export interface LaunchSagaStatus {
  readonly running: boolean;
  readonly driving: number;
  readonly delivering: number;
  readonly lastPollAt: Date | null;
  readonly lastError: string | null;
}

/**
 * The launch saga's worker, run by the `saga` role. It follows campaign events (CampaignLaunched → a launch;
 * Paused / Resumed / Cancelled → the same on the launch), and every poll it drives each launch that is not done:
 * every campaign running or paused, and every campaign whose ledger still has work. So a restarted worker
 * resumes every launch from its stream and the ledger, and any number of workers may run side by side.
 */
export class LaunchSagaWorker {
  private readonly rt: SagaRuntime;
  private readonly follower: CampaignEventFollower;
  private readonly driving = new Map<string, Promise<void>>();
  private readonly delivering = new Map<string, Promise<void>>();
  private readonly touched = new Set<string>();
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private state = { lastPollAt: null as Date | null, lastError: null as string | null };

  constructor(deps: LaunchSagaDeps) {
    const workerId = deps.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const logger = deps.logger.child({ component: 'launch-saga', workerId });
    this.rt = {
      eventStore: deps.eventStore,
      db: deps.db,
      pool: deps.pool,
      ledger: new DeliveryLedger(deps.db),
      sender: deps.sender,
      reconciler: deps.reconciler ?? noReconciler,
      render: { trackingSecret: deps.trackingSecret, publicBaseUrl: deps.publicBaseUrl },
      workerId,
      settings: { ...DEFAULT_LAUNCH_SAGA_SETTINGS, ...deps.settings },
      logger,
      now: deps.now ?? (() => new Date()),
    };
    this.follower = new CampaignEventFollower({ runtime: this.rt, nats: deps.nats, pool: deps.pool, prefix: deps.prefix, logger, touched: (id) => this.touch(id) });
  }

  get status(): LaunchSagaStatus {
    return { running: this.running !== null, driving: this.driving.size, delivering: this.delivering.size, ...this.state };
  }

  start(): void {
    this.stopping = false;
    this.follower.start();
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  /** Stops following, lets each delivery loop finish its batch in flight, and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.follower.stop();
    await this.running;
    await Promise.allSettled([...this.driving.values(), ...this.delivering.values()]);
  }

  /** Drive this launch now rather than at the next poll. */
  touch(campaignId: string): void {
    this.touched.add(campaignId);
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        const candidates = new Set([...this.touched, ...(await campaignsInFlight(this.rt.db)), ...(await campaignsWithLedgerWork(this.rt.db))]);
        this.touched.clear();
        for (const campaignId of candidates) this.drive(campaignId);
        this.state = { lastPollAt: new Date(), lastError: null };
      } catch (error) {
        if (this.stopping) break;
        this.state.lastError = error instanceof Error ? error.message : String(error);
        this.rt.logger.warn({ err: error }, 'looking for launches failed; retrying');
      }
      await this.sleep(this.rt.settings.pollIntervalMs);
    }
  }

  private drive(campaignId: string): void {
    if (this.stopping || this.driving.has(campaignId)) return;
    const task = driveLaunch(this.rt, campaignId, (id) => this.deliver(id))
      .catch((error: unknown) => this.rt.logger.warn({ err: error, campaignId }, 'launch step failed; retried at the next poll'))
      .finally(() => this.driving.delete(campaignId));
    this.driving.set(campaignId, task);
  }

  private deliver(campaignId: string): void {
    // Without an SMTP provider this worker leaves delivery to workers that have one.
    if (this.stopping || this.rt.sender === null || this.delivering.has(campaignId)) return;
    const task = deliverLaunch(this.rt, campaignId, () => this.stopping)
      // The rounds ended (paused, completed, cancelled): take the next step now, not at the next poll.
      .then(() => this.touch(campaignId))
      .catch((error: unknown) => this.rt.logger.warn({ err: error, campaignId }, 'delivery round failed; resumed at the next poll'))
      .finally(() => this.delivering.delete(campaignId));
    this.delivering.set(campaignId, task);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping || this.touched.size > 0) return resolve();
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}

/** Campaigns whose launch may have steps left (the campaigns read model). */
async function campaignsInFlight(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('campaigns').select('id').where('status', 'in', ['running', 'paused']).execute();
  return rows.map((r) => r.id);
}

export interface LaunchSagaHandle {
  readonly worker: LaunchSagaWorker;
  /** Stops the worker, then closes the sender it was given. */
  stop(): Promise<void>;
}

/** Starts the launch saga worker; it owns `deps.sender` from here on. */
export function startLaunchSaga(deps: LaunchSagaDeps): LaunchSagaHandle {
  const worker = new LaunchSagaWorker(deps);
  worker.start();
  return {
    worker,
    async stop() {
      await worker.stop();
      await deps.sender?.close();
    },
  };
}

/** The SMTP sender for SMTP_URL, or null (said once in the log: delivery is disabled). */
export function senderFromConfig(config: Pick<Config, 'smtpUrl'>, logger: Logger): EmailSender | null {
  if (config.smtpUrl === undefined) {
    logger.warn({ component: 'launch-saga' }, `SMTP_URL is not set: email delivery is disabled, and launches compensate at preflight (${NO_SMTP_PROVIDER})`);
    return null;
  }
  return createSmtpSender({ smtpUrl: config.smtpUrl, logger });
}
