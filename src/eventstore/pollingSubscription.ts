import type { ReadAllOptions, RecordedEvent, Subscription } from './port.js';

export interface PollingSubscriptionOptions {
  readonly after: bigint | null;
  readonly readAll: (options: ReadAllOptions) => Promise<readonly RecordedEvent[]>;
  /** Resolves when new events may exist (a notification) or after `ms`, whichever is first. */
  readonly waitForAppend: (ms: number) => Promise<void>;
  readonly idlePollMs: number;
  readonly pageSize?: number;
  /** Delay before retrying after a read failure (the store is down); the subscription never gives up by itself. */
  readonly retryDelayMs?: number;
}

/**
 * A catch-up-then-live subscription over a gap-safe `readAll`: reads pages until it is caught up, then waits
 * for an append notification (or the idle poll) and reads again. Read failures are retried, so a subscriber
 * survives a database restart without a manual step.
 */
export class PollingSubscription implements Subscription {
  private closed = false;
  private wakeClose: (() => void) | null = null;

  constructor(private readonly options: PollingSubscriptionOptions) {}

  async close(): Promise<void> {
    this.closed = true;
    this.wakeClose?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    let after = this.options.after;
    const pageSize = this.options.pageSize ?? 500;
    while (!this.closed) {
      let page: readonly RecordedEvent[];
      try {
        page = await this.options.readAll({ after, maxCount: pageSize });
      } catch {
        await this.sleepOrClose(() => new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 500)));
        continue;
      }
      for (const event of page) {
        if (this.closed) return;
        after = event.position;
        yield event;
      }
      if (page.length < pageSize) await this.sleepOrClose(() => this.options.waitForAppend(this.options.idlePollMs));
    }
  }

  private async sleepOrClose(sleep: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    await Promise.race([sleep(), new Promise<void>((resolve) => (this.wakeClose = resolve))]);
    this.wakeClose = null;
  }
}
