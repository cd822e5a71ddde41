import { FixedWindows } from './fixedWindows.js';

/**
 * Failed authentications per client IP, in fixed one-minute windows. Once a client has failed `maxPerMinute`
 * times in its window, every further request of that client is refused (429 RATE_LIMITED) until the window
 * ends, without its key being looked up: a key-guessing client, or one stuck retrying a revoked key, costs no
 * database round trip per attempt. The request limiter (plugins/rateLimit.ts) cannot see these requests: the
 * auth hook refuses them before it runs.
 *
 * The price: clients behind one NAT address share the count, so a misconfigured neighbour can lock out a good
 * key for up to a minute (TRUST_PROXY makes the address the real client's behind a reverse proxy). Counts are
 * per process, like the request limits.
 */
export class AuthFailureThrottle {
  private readonly failures: FixedWindows;

  constructor(
    private readonly maxPerMinute: number,
    now: () => number = Date.now,
  ) {
    this.failures = new FixedWindows(60_000, now);
  }

  /** Seconds until this client may try again, or null when it is not throttled. */
  retryAfterSeconds(client: string): number | null {
    const { count, ttlMs } = this.failures.peek(client);
    return count >= this.maxPerMinute ? Math.ceil(ttlMs / 1_000) : null;
  }

  recordFailure(client: string): void {
    this.failures.hit(client);
  }
}
