import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { instrumentEventStore } from '../../../src/eventstore/instrumented.js';
import { registerLagGauges } from '../../../src/projections/runner/lagMetrics.js';
import { newEvent } from '../../eventstore/contract.js';
import { useApiTestEnv, type ApiTestEnv } from '../support.js';

let env: ApiTestEnv;
let app: FastifyInstance;

beforeAll(async () => {
  env = await useApiTestEnv('metrics');
  app = await buildServer(env.deps);
});
afterAll(() => app.close());

const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('GET /metrics', () => {
  it('serves Prometheus text without an API key, with append and lag figures', async () => {
    const store = instrumentEventStore(env.eventStore);
    registerLagGauges({ store, db: env.db, relayCheckpointKey: 'none/default', projections: ['activity'] });
    const before = value(await scrape(), 'mkt_events_appended_total{adapter="postgres"}');
    await store.append(`note-${randomUUID()}`, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' });
    await store.appendMany([{ streamId: `note-${randomUUID()}`, events: [newEvent('C')], expectedRevision: 'no_stream' }]);
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/plain/);
    const text = response.body;
    expect(value(text, 'mkt_events_appended_total{adapter="postgres"}') - (Number.isNaN(before) ? 0 : before)).toBe(3);
    expect(text).toMatch(/mkt_event_store_append_duration_seconds_count\{adapter="postgres",kind="appendMany"\} \d+/);
    const head = Number(await env.eventStore.headPosition());
    expect(value(text, 'mkt_relay_lag_events')).toBe(head);
    expect(value(text, 'mkt_projection_lag_events{projection="activity"}')).toBe(head);
    // Nothing was relayed or applied: the lag in seconds is the age of the oldest event in the store.
    const oldest = (await env.eventStore.readAll({ after: null, maxCount: 1 }))[0]!.recordedAt.getTime();
    const age = (Date.now() - oldest) / 1000;
    expect(value(text, 'mkt_relay_lag_seconds')).toBeGreaterThan(0);
    expect(value(text, 'mkt_relay_lag_seconds')).toBeLessThanOrEqual(age + 1);
    expect(value(text, 'mkt_projection_lag_seconds{projection="activity"}')).toBeGreaterThan(0);
    for (const status of ['running', 'paused', 'completed', 'cancelled', 'failed']) expect(value(text, `mkt_saga_launches{status="${status}"}`)).toBe(0);
    expect(value(text, 'mkt_smtp_circuit_state')).toBe(0);
    expect(text).toMatch(/mkt_process_resident_memory_bytes \d+/);
  });
});
