import type pg from 'pg';
import type { Logger } from './logger.js';

/**
 * "One active instance at a time" through a PostgreSQL session advisory lock held on a dedicated connection.
 * When that connection dies (Postgres restarted, network cut), the lock is gone: `lost` resolves and the
 * holder must stop acting as leader; another instance may then take over.
 */
export class Leadership {
  private client: pg.PoolClient | null = null;
  private lostResolve: (() => void) | null = null;
  /** Resolves when leadership is lost after having been acquired. */
  lost: Promise<void> = new Promise(() => {});

  constructor(
    private readonly pool: pg.Pool,
    readonly key: string,
  ) {}

  get isLeader(): boolean {
    return this.client !== null;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.client !== null) return true;
    const client = await this.pool.connect();
    let acquired = false;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [this.key]);
      acquired = rows[0]?.ok === true;
    } finally {
      if (!acquired) client.release();
    }
    if (!acquired) return false;
    this.client = client;
    this.lost = new Promise((resolve) => (this.lostResolve = resolve));
    const onLost = () => this.drop(client, true);
    client.on('error', onLost);
    client.on('end', onLost);
    return true;
  }

  async release(): Promise<void> {
    const client = this.client;
    if (client === null) return;
    try {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.key]);
    } catch {
      // The connection is gone, and with it the lock.
    }
    this.drop(client, false);
  }

  private drop(client: pg.PoolClient, destroy: boolean): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('error');
    client.removeAllListeners('end');
    // A dying connection may still emit ('Connection terminated unexpectedly'); unheard, that would crash the process.
    client.on('error', () => {});
    client.release(destroy);
    this.lostResolve?.();
  }
}

export interface LeaderLoopOptions {
  readonly leadership: Leadership;
  readonly log: Logger;
  /** What this instance does while it holds the lock; returns when stopping, throws when interrupted. */
  readonly lead: () => Promise<void>;
  /** Logged (warn) when `lead` throws; the loop then releases the lock and retries with backoff. */
  readonly interruptedMessage: string;
  /** How long a standby waits before trying to take the lock again. */
  readonly standbyRetryMs?: number;
  readonly onActive?: (active: boolean) => void;
  readonly onError?: (error: unknown) => void;
}

/**
 * The run loop shared by every "one active instance" component (relay, projection runners, saga follower):
 * take the lock or stand by; lead; on an interruption release the lock and retry with exponential backoff
 * (200 ms to 5 s); stop cleanly.
 */
export class LeaderLoop {
  private running: Promise<void> | null = null;
  private stopRequested = false;
  private wake: (() => void) | null = null;

  constructor(private readonly options: LeaderLoopOptions) {}

  get stopping(): boolean {
    return this.stopRequested;
  }

  start(): void {
    this.stopRequested = false;
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  /** `interrupt` ends the current `lead()` (closes its subscription); then waits for the loop and releases the lock. */
  async stop(interrupt?: () => Promise<unknown>): Promise<void> {
    this.stopRequested = true;
    this.wake?.();
    await interrupt?.();
    await this.running;
    await this.options.leadership.release();
  }

  private async loop(): Promise<void> {
    const { leadership, log } = this.options;
    let backoffMs = 200;
    while (!this.stopRequested) {
      try {
        if (!(await leadership.tryAcquire())) {
          await this.sleep(this.options.standbyRetryMs ?? 1_000);
          continue;
        }
        this.options.onActive?.(true);
        await this.options.lead();
        backoffMs = 200;
      } catch (error) {
        if (this.stopRequested) break; // the database or NATS going away during shutdown is expected
        this.options.onError?.(error);
        log.warn({ err: error, retryInMs: backoffMs }, this.options.interruptedMessage);
        await leadership.release();
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      } finally {
        this.options.onActive?.(false);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
