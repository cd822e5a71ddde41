import type { AllStreamSubscription } from '@eventstore/db-client';
import type { RecordedEvent, Subscription } from '../port.js';
import { isSystemRecord, toRecordedEvent } from './convert.js';
import { mapEsdbError } from './mapError.js';

const CLOSED = Symbol('closed');

/**
 * Wraps the client's `$all` catch-up subscription (a Node Transform stream) as the port's Subscription.
 *
 * Why not iterate the client stream directly: cancelling the gRPC call does not end the stream it is piped
 * into, so a `for await` over it would hang after close(). Here every `next()` races a close signal, so close()
 * ends any pending iteration, and leaving a `for await` early (break/throw) cancels the gRPC call.
 */
export class EsdbSubscription implements Subscription {
  #closed = false;
  #signalClosed!: (value: typeof CLOSED) => void;
  readonly #closedSignal = new Promise<typeof CLOSED>((resolve) => {
    this.#signalClosed = resolve;
  });

  constructor(
    private readonly source: AllStreamSubscription,
    /** Exclusive start; events at or before it are skipped even if the server repeats them. */
    private readonly after: bigint | null,
    private readonly onClosed: (subscription: EsdbSubscription) => void,
  ) {
    // Without a listener an early error (e.g. connection refused) would be an uncaught 'error' event; the
    // iterator below still sees it through the stream's own error handling.
    source.on('error', () => {});
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    if (this.#closed) return;
    const iterator = this.source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), this.#closedSignal]);
        if (next === CLOSED || next.done === true) return;
        const record = next.value.event;
        if (record === undefined || isSystemRecord(record)) continue;
        const event = toRecordedEvent(record);
        if (this.after !== null && event.position <= this.after) continue;
        yield event;
      }
    } catch (error) {
      if (this.#closed) return;
      throw mapEsdbError(error, 'subscribeToAll');
    } finally {
      await this.close();
      // Not awaited: the client's iterator settles only once the destroyed stream has finished.
      iterator.return?.().catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signalClosed(CLOSED);
    this.onClosed(this);
    // A call that never got a channel has nothing to cancel; closing must not fail because of it.
    await this.source.unsubscribe().catch(() => {});
    this.source.destroy();
  }
}
