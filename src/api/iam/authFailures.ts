const WINDOW_MS = 60_000;
const MAX_TRACKED_CLIENTS = 50_000;

/**
 * Failed authentications per client IP, in fixed one-minute windows. Once a client has failed `maxPerMinute`
 * times in its window, every further request of that client is refused (429 RATE_LIMITED) until the window
 * ends, without its key being looked up: a key-guessing client, or one stuck retrying a revoked key, costs no
 * database round trip per attempt. The request limiter (plugins/rateLimit.ts) cannot see these requests: the
 * auth hook refuses them before it runs.
 *
 * The price: clients behind one NAT address share the count, so a misconfigured neighbour can lock out a good
 * key for up to a minute (TRUST_PROXY makes the address the real client's behind a reverse proxy). Counts are
 * per process, like the request limits. Memory is bounded: past MAX_TRACKED_CLIENTS, expired windows are
 * dropped, then the oldest.
 */
export class AuthFailureThrottle {
  private readonly windows = new Map<string, { failures: number; startedAt: number }>();

  constructor(
    private readonly maxPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until this client may try again, or null when it is not throttled. */
  retryAfterSeconds(client: string): number | null {
    const window = this.windows.get(client);
    if (window === undefined) return null;
    const left = window.startedAt + WINDOW_MS - this.now();
    if (left <= 0) {
      this.windows.delete(client);
      return null;
    }
    return window.failures >= this.maxPerMinute ? Math.ceil(left / 1_000) : null;
  }

  recordFailure(client: string): void {
    const now = this.now();
    let window = this.windows.get(client);
    if (window === undefined || window.startedAt + WINDOW_MS <= now) {
      if (this.windows.size >= MAX_TRACKED_CLIENTS) this.prune(now);
      window = { failures: 0, startedAt: now };
      this.windows.set(client, window);
    }
    window.failures++;
  }

  private prune(now: number): void {
    for (const [client, window] of this.windows) if (window.startedAt + WINDOW_MS <= now) this.windows.delete(client);
    for (const client of this.windows.keys()) {
      if (this.windows.size < MAX_TRACKED_CLIENTS) break;
      this.windows.delete(client);
    }
  }
}
