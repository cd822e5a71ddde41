import { randomUUID } from 'node:crypto';
import { afterAll, expect } from 'vitest';
import type { CommandContext } from '../../../src/domain/shared/decider.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { createPool } from '../../../src/infra/postgres.js';
import { campaignsProjections } from '../../../src/projections/campaigns/index.js';
import { listParkedEvents, waitForProjection } from '../../../src/projections/runner/queries.js';
import { ProjectionRunner, type Projection } from '../../../src/projections/runner/projectionRunner.js';
import { templatesProjections } from '../../../src/projections/templates/index.js';
import type { ApiTestEnv } from '../../api/support.js';
import { uniquePrefix } from '../../support/nats.js';

export const SLICE_PROJECTIONS: readonly Projection[] = [...templatesProjections, ...campaignsProjections];

export interface Pipeline {
  /** The NATS prefix the relay and runners use (an API serving this pipeline's change notices needs it). */
  readonly prefix: string;
  /** Resolves once every projection has applied `position` (fails the test after 10 s). */
  caughtUp(position: bigint | null): Promise<void>;
}

/**
 * The real read path for one test file: the relay publishes the store's log to JetStream and one ProjectionRunner
 * per projection applies it, as in production. Stopped after the file.
 */
export function startPipeline(env: ApiTestEnv, label: string, projections: readonly Projection[] = SLICE_PROJECTIONS): Pipeline {
  const prefix = uniquePrefix(label);
  // Each runner and the relay hold one connection for their leadership lock: their own pool, so that the
  // test's queries and the event store keep theirs.
  const pool = createPool({ connectionString: env.url, max: projections.length + 2 });
  const relay = new Relay({ store: env.eventStore, db: env.db, pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  const runners = projections.map(
    (projection) => new ProjectionRunner({ projection, db: env.db, pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, standbyRetryMs: 100 }),
  );
  relay.start();
  for (const runner of runners) runner.start();
  afterAll(async () => {
    for (const runner of runners) await runner.stop();
    await relay.stop();
    await pool.end();
  });
  return {
    prefix,
    async caughtUp(position) {
      if (position === null) return;
      for (const projection of projections) {
        expect(await waitForProjection(env.db, projection.name, position, 10_000), `${projection.name} reached ${position}`).toBe(true);
      }
      expect(await listParkedEvents(env.db)).toEqual([]);
    },
  };
}

/** A command context in a workspace, with a fresh command id unless one is given. */
export function contextIn(workspaceId: string, commandId: string = randomUUID()): CommandContext {
  return { commandId, correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId };
}
