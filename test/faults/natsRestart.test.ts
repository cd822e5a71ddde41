/**
 * NATS goes away and comes back (same JetStream store directory): the relay and the projector recover by
 * themselves, and every event reaches the read model exactly once. Uses a private nats-server on a free port,
 * so the machine's NATS is untouched.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { loadConfig } from '../../src/infra/config.js';
import { silentLogger } from '../../src/infra/logger.js';
import { resolveNats, type ResolvedNats } from '../../src/infra/natsServer.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../src/projections/runner/queries.js';
import { activityProjection } from '../../src/projections/activity/projection.js';
import { useApiTestEnv, type ApiTestEnv } from '../api/support.js';
import { freePort } from '../infra/freePort.js';
import { newEvent } from '../eventstore/contract.js';

let env: ApiTestEnv;
let dataDir: string;
let natsUrl: string;
let server: ResolvedNats;
let nats: NatsConnection;

const startServer = () => resolveNats(loadConfig({ NATS_URL: natsUrl, DATA_DIR: dataDir }), silentLogger);

beforeAll(async () => {
  env = await useApiTestEnv('natsrestart');
  dataDir = await mkdtemp(join(tmpdir(), 'nats-restart-'));
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  server = await startServer();
  expect(server.started).toBe(true);
  nats = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});
afterAll(async () => {
  await nats?.close();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('NATS restart', () => {
  it('relay and projector resume on their own and the read model ends complete, each event applied once', async () => {
    const prefix = 'restart';
    const relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
    const runner = new ProjectionRunner({ projection: activityProjection, db: env.db, pool: env.pool, nats, prefix, store: env.eventStore, logger: silentLogger, standbyRetryMs: 50 });
    relay.start();
    runner.start();
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) await env.eventStore.append(`note-${randomUUID()}`, [newEvent('Written', { i }, { metadata: { ...newEvent('x').metadata, workspaceId: 'ws-restart' } })], { expectedRevision: 'no_stream' });
    };
    await append(20);
    expect(await waitForProjection(env.db, 'activity', (await env.eventStore.headPosition())!, 10_000)).toBe(true);

    await server.stop();
    await append(30); // commands keep working: the event store is the truth, NATS only lags
    server = await startServer();
    await append(10);

    const head = (await env.eventStore.headPosition())!;
    expect(await waitForProjection(env.db, 'activity', head, 30_000)).toBe(true);
    await runner.stop();
    await relay.stop();
    const { rows } = await sql<{ n: string; distinct_events: string }>`SELECT count(*) AS n, count(DISTINCT event_id) AS distinct_events FROM activity_events WHERE workspace_id = 'ws-restart'`.execute(env.db);
    expect(rows[0]).toEqual({ n: '60', distinct_events: '60' });
  }, 60_000);
});
