const MAX_TRACKED_KEYS = 50_000;

/**
 * Counters in fixed time windows, one per key (an API key, a client IP), for the rate limits. Memory is bounded:
 * past MAX_TRACKED_KEYS keys, expired windows are dropped, then the oldest. Per process: with N instances a key
 * can be counted up to N times the limit.
 */
export class FixedWindows {
  private readonly windows = new Map<string, { count: number; startedAt: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one hit of `key`; its count in the current window and the milliseconds until that window ends. */
  hit(key: string): { count: number; ttlMs: number } {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || window.startedAt + this.windowMs <= now) {
      if (window === undefined && this.windows.size >= MAX_TRACKED_KEYS) this.prune(now);
      window = { count: 0, startedAt: now };
      this.windows.set(key, window);
    }
    window.count++;
    return { count: window.count, ttlMs: window.startedAt + this.windowMs - now };
  }

  /** The count of `key` in its current window (0 when none) and the milliseconds until the window ends. */
  peek(key: string): { count: number; ttlMs: number } {
    const window = this.windows.get(key);
    const ttlMs = window === undefined ? 0 : window.startedAt + this.windowMs - this.now();
    if (window === undefined || ttlMs <= 0) {
      if (window !== undefined) this.windows.delete(key);
      return { count: 0, ttlMs: 0 };
    }
    return { count: window.count, ttlMs };
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.startedAt + this.windowMs <= now) this.windows.delete(key);
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_TRACKED_KEYS) break;
      this.windows.delete(key);
    }
  }
}
