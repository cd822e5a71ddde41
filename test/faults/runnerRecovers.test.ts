/**
 * A batch fails with a connection error while the runner has more messages pulled ahead (what a PostgreSQL
 * restart does to a busy projection): the runner must give the batch back, resume from its checkpoint and catch
 * up by itself. It used to hang for good, silently: closing a JetStream consumer whose pulled-ahead messages were
 * never read does not settle. Quick; the full scenario is postgresRestart.faults.ts.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../src/infra/logger.js';
import { activityProjection } from '../../src/projections/activity/projection.js';
import { ProjectionRunner, type Projection } from '../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../src/projections/runner/queries.js';
import { useApiTestEnv } from '../api/support.js';
import { newEvent } from '../eventstore/contract.js';
import { uniquePrefix } from '../support/nats.js';

const env = await useApiTestEnv('runner_recovers');

describe('projection runner after a failed batch with messages pulled ahead', () => {
  it('resumes from its checkpoint and catches up without a manual step', async () => {
    const EVENTS = 120;
    const metadata = { ...newEvent('x').metadata, workspaceId: 'ws-recovers' };
    for (let i = 0; i < EVENTS; i++) await env.eventStore.append(`note-${randomUUID()}`, [newEvent('Written', { i }, { metadata })], { expectedRevision: 'no_stream' });
    let failuresLeft = 2;
    // The activity projection, except that two batches die as if PostgreSQL had been restarted under them.
    const flaky: Projection = {
      name: 'activity',
      tables: activityProjection.tables,
      async apply(trx, event) {
        if (event.position % 40n === 5n && failuresLeft > 0) {
          failuresLeft--;
          throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
        }
        await activityProjection.apply(trx, event);
      },
    };
    const prefix = uniquePrefix('recovers');
    const relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
    relay.start();
    // Small batches, so that many messages are pulled ahead of the failing one.
    const runner = new ProjectionRunner({ projection: flaky, db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, batchSize: 10, standbyRetryMs: 50 });
    runner.start();
    try {
      expect(await waitForProjection(env.db, 'activity', BigInt(EVENTS), 20_000)).toBe(true);
      expect(failuresLeft).toBe(0);
    } finally {
      await runner.stop();
      await relay.stop();
    }
    const { rows } = await sql<{ n: string; d: string }>`SELECT count(*) AS n, count(DISTINCT position) AS d FROM activity_events`.execute(env.db);
    expect(rows[0]).toEqual({ n: String(EVENTS), d: String(EVENTS) });
  });
});
