/**
 * /ready and stuck projections: a projection whose handler hangs on an event while this process leads it makes
 * /ready 503 naming it and why; an idle projection (caught up, however long ago it last moved) and a standby
 * (another instance leads) do not; it is 200 again once the projection moves on. Real PostgreSQL and NATS.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../src/infra/logger.js';
import type { ReaderProgress } from '../../src/projections/runner/lagMetrics.js';
import { ProjectionRunner, type Projection } from '../../src/projections/runner/projectionRunner.js';
import { stuckProjectionChecks, stuckReason } from '../../src/projections/runner/stuck.js';
import { newEvent } from '../eventstore/contract.js';
import { useApiTestEnv, type ApiTestEnv } from '../api/support.js';
import { uniquePrefix } from '../support/nats.js';

const THRESHOLD_MS = 300;
let env: ApiTestEnv;
let app: FastifyInstance;
let relay: Relay;
let leader: ProjectionRunner;
let standby: ProjectionRunner;
let release: () => void = () => {};
const applied: string[] = [];

const hanging: Projection = {
  name: 'hanging',
  tables: [],
  async apply(_trx, event) {
    if (event.type === 'Hang') await new Promise<void>((resolve) => (release = resolve));
    applied.push(event.type);
  },
};

beforeAll(async () => {
  env = await useApiTestEnv('ready');
  const prefix = uniquePrefix('ready');
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  const runner = () => new ProjectionRunner({ projection: hanging, db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, standbyRetryMs: 60_000 });
  leader = runner();
  relay.start();
  leader.start();
  await waitUntil(() => leader.status.active, 'the first runner leads');
  standby = runner();
  standby.start();
  const deps = { store: env.eventStore, db: env.db };
  app = await buildServer({ ...env.deps, readinessChecks: stuckProjectionChecks(deps, [leader], THRESHOLD_MS) });
  standbyCheck = stuckProjectionChecks(deps, [standby], THRESHOLD_MS)[0]!;
});
let standbyCheck: ReturnType<typeof stuckProjectionChecks>[number];
afterAll(async () => {
  release();
  await app?.close();
  await standby?.stop();
  await leader?.stop();
  await relay?.stop();
});

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ready = async () => {
  const response = await app.inject({ method: 'GET', url: '/ready' });
  return { status: response.statusCode, body: response.json() as { status: string; checks: Record<string, { ok: boolean; error?: string }> } };
};

describe('/ready with a stuck projection', () => {
  it('is ready while the projection is idle, even long after its checkpoint last moved', async () => {
    await env.eventStore.append(`note-${randomUUID()}`, [newEvent('Noted')], { expectedRevision: 'no_stream' });
    await waitUntil(() => applied.includes('Noted'), 'the event is applied');
    await new Promise((resolve) => setTimeout(resolve, THRESHOLD_MS * 2));
    const { status, body } = await ready();
    expect(status).toBe(200);
    expect(body.checks['projection:hanging']).toEqual({ ok: true });
  });

  it('fails, naming the projection and why, while its handler hangs on an event; the standby does not; then recovers', async () => {
    await env.eventStore.append(`note-${randomUUID()}`, [newEvent('Hang'), newEvent('After')], { expectedRevision: 'no_stream' });
    // A fresh event is not a problem yet: below the threshold the projection is only behind.
    await waitUntil(async () => (await ready()).status === 503, '/ready fails');
    const { body } = await ready();
    expect(body.status).toBe('not_ready');
    expect(body.checks['projection:hanging']!.ok).toBe(false);
    expect(body.checks['projection:hanging']!.error).toMatch(/^stuck: 2 events behind, the oldest \d+ s old, and its checkpoint has not moved for \d+ s \(threshold 0.3 s\)/);
    expect(body.checks.postgres).toEqual({ ok: true });
    expect(standby.status.active).toBe(false);
    await expect(standbyCheck.check()).resolves.toBeUndefined();

    release();
    await waitUntil(() => applied.includes('After'), 'the projection moves on');
    await waitUntil(async () => (await ready()).status === 200, '/ready recovers');
  });
});

describe('stuckReason', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  const progress = (p: Partial<ReaderProgress>): ReaderProgress => ({ name: 'p', checkpoint: 10n, lagEvents: 5, lagSeconds: 120, checkpointMovedAt: ago(120), ...p });
  const runner = (status: { active: boolean; lastError?: string | null }) => ({ name: 'p', status: { projection: 'p', checkpoint: 10n, lastBatchAt: null, lastError: status.lastError ?? null, active: status.active } });

  it('is null when caught up, when the backlog is fresh, when the checkpoint moves, and for a healthy standby', () => {
    expect(stuckReason(runner({ active: true }), progress({ lagEvents: 0, lagSeconds: 0 }), 60_000, now)).toBeNull();
    expect(stuckReason(runner({ active: true }), progress({ lagSeconds: 5 }), 60_000, now)).toBeNull();
    expect(stuckReason(runner({ active: true }), progress({ checkpointMovedAt: ago(2) }), 60_000, now)).toBeNull();
    expect(stuckReason(runner({ active: false }), progress({}), 60_000, now)).toBeNull();
  });

  it('names a stuck leader, one that never applied anything, and one that keeps failing', () => {
    expect(stuckReason(runner({ active: true }), progress({}), 60_000, now)).toBe('stuck: 5 events behind, the oldest 120 s old, and its checkpoint has not moved for 120 s (threshold 60 s)');
    expect(stuckReason(runner({ active: true }), progress({ checkpoint: null, checkpointMovedAt: null }), 60_000, now)).toMatch(/it has not applied any event yet/);
    expect(stuckReason(runner({ active: false, lastError: 'connection refused' }), progress({}), 60_000, now)).toMatch(/; last error: connection refused$/);
  });
});
