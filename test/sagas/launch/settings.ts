/** Constants of the launch tests, importable outside vitest (the worker child process uses them). */
export const SECRET = 'launch-test-tracking-secret-0123456789';
export const SENDER = { email: 'news@mail.example.com', name: 'Example News' } as const;

/**
 * Short waits for tests; the exactly-once machinery is the production one. A send stays 'sending' until its outcome
 * is written, so staleSendingAfterMs must be longer than any live send can take (production: 10 min against a 60 s
 * SMTP socket timeout); otherwise a sweep takes a live send for a dead one, finds it not yet at the sink and
 * requeues it: a second email (seen once with 1.5 s under load ~17, two workers). Tests that need in-doubt sends
 * reconciled quickly, with one live worker, use SINGLE_WORKER_SETTINGS.
 */
export const TEST_SETTINGS = {
  batchSize: 10,
  pollIntervalMs: 150,
  idleDelayMs: 50,
  preflightTimeoutMs: 3_000,
  freezeTimeoutMs: 20_000,
  staleSendingAfterMs: 30_000,
  claimLeaseMs: 1_500,
  followerAckWaitMs: 3_000,
} as const;


/**
 * For a test with one live worker (e.g. taking over from a killed one, or through a provider outage): a worker
 * sweeps between its own rounds, when none of its sends is in flight, so what it finds in doubt after 1.5 s is a
 * dead worker's send or one whose connection broke. Never with two live workers at once (see TEST_SETTINGS).
 */
export const SINGLE_WORKER_SETTINGS = { ...TEST_SETTINGS, staleSendingAfterMs: 1_500 } as const;
