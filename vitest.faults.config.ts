import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: the fault suite. The slow scenarios (`test/faults/**\/*.faults.ts`: NATS and PostgreSQL
 * restarted, the relay killed in a loop, two app instances) plus the quick fault tests that `npm test` also runs.
 * One file at a time: they restart private servers and time their faults, and the machine has two cores.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts', 'test/faults/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
