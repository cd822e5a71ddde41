/** Constants of the launch tests, importable outside vitest (the worker child process uses them). */
export const SECRET = 'launch-test-tracking-secret-0123456789';
export const SENDER = { email: 'news@mail.example.com', name: 'Example News' } as const;

/** Short waits for tests; the exactly-once machinery is the production one. */
export const TEST_SETTINGS = {
  batchSize: 10,
  pollIntervalMs: 150,
  idleDelayMs: 50,
  preflightTimeoutMs: 3_000,
  freezeTimeoutMs: 20_000,
  staleSendingAfterMs: 1_500,
  claimLeaseMs: 1_500,
  followerAckWaitMs: 3_000,
} as const;

