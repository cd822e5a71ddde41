import type { StreamingRead } from '@eventstore/db-client';

/** What a visitor tells `visitRead` after each item. */
export type Visit = 'next' | 'stop';

/**
 * Feeds every item of a bounded client read to `visit` until it says 'stop' or the read ends; returns how many
 * items the server sent. Stopping early cancels the gRPC call instead of letting the server stream on.
 */
export async function visitRead<T>(read: StreamingRead<T>, visit: (item: T) => Visit): Promise<number> {
  let received = 0;
  for await (const item of read) {
    received++;
    if (visit(item as T) === 'stop') {
      await read.cancel();
      break;
    }
  }
  return received;
}

/** Resolves with `work`, or rejects with `onTimeout()` after `ms` (the caller cancels the work). */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
