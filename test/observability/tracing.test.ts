/**
 * One GraphQL mutation is one trace: graphql → command → append → relay publish → projector batch, every span with
 * the request's correlation id, and a log line written during the request carries the trace id. Real PostgreSQL,
 * NATS, relay and projection runner; spans go to an in-memory exporter.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { CORRELATION_HEADER, NatsCommandServer } from '../../src/api/commands/natsCommandServer.js';
import { buildServer } from '../../src/api/server.js';
import { instrumentEventStore } from '../../src/eventstore/instrumented.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { loadConfig } from '../../src/infra/config.js';
import { createLogger, silentLogger } from '../../src/infra/logger.js';
import { startTracing, type Tracing } from '../../src/infra/tracing.js';
import { activityProjection } from '../../src/projections/activity/projection.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { uniquePrefix } from '../support/nats.js';

const memory = new InMemorySpanExporter();
const logLines: Record<string, unknown>[] = [];
let env: ApiTestEnv;
let tracing: Tracing;
let app: FastifyInstance;
let relay: Relay;
let runner: ProjectionRunner;
let workspace: SeededWorkspace;
let prefix: string;

beforeAll(async () => {
  tracing = await startTracing({ exporter: 'none', endpoint: 'http://localhost:4318', serviceName: 'test' }, undefined, [new SimpleSpanProcessor(memory)]);
  env = await useApiTestEnv('tracing');
  prefix = uniquePrefix('tracing');
  const store = instrumentEventStore(env.eventStore);
  // The real logger factory, writing into an array instead of stdout.
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  relay = new Relay({ store, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  runner = new ProjectionRunner({ projection: activityProjection, db: env.db, pool: env.pool, nats: env.nats, prefix, store, logger: silentLogger });
  relay.start();
  runner.start();
  app = await buildServer({ ...env.deps, eventStore: store, logger, config: loadConfig({ NODE_ENV: 'test', NATS_PREFIX: prefix, RATE_LIMIT: 'off' }) });
  workspace = await seedWorkspace(env.db);
});
afterAll(async () => {
  await app?.close();
  await runner?.stop();
  await relay?.stop();
  await tracing?.shutdown();
});

async function waitForSpan(predicate: (span: ReadableSpan) => boolean, what: string): Promise<ReadableSpan> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = memory.getFinishedSpans().find(predicate);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} span; have: ${memory.getFinishedSpans().map((s) => s.name).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing', () => {
  it('follows one mutation from GraphQL to the projector in one trace, with the correlation id on every span', async () => {
    const correlationId = `trace-test-${Date.now()}`;
    const response = await gql(
      app,
      workspace.keys.marketer.key,
      'mutation CreateSpring($input: CreateTemplateInput!) { createTemplate(input: $input) { templateId receipt { position } } }',
      { input: { name: 'Spring', subject: 'Hi', html: '<p>Hi</p>' } },
      { 'x-correlation-id': correlationId },
    );
    expect(response.body.errors).toBeUndefined();

    const graphql = await waitForSpan((s) => s.name === 'graphql mutation CreateSpring', 'graphql');
    const traceId = graphql.spanContext().traceId;
    const inTrace = (name: string) => (s: ReadableSpan) => s.name === name && s.spanContext().traceId === traceId;
    const command = await waitForSpan(inTrace('command CreateTemplate'), 'command');
    const append = await waitForSpan(inTrace('append'), 'append');
    const publish = await waitForSpan(inTrace('relay publish'), 'relay publish');
    const batch = await waitForSpan(inTrace('projector batch'), 'projector batch');

    expect(parentOf(command)).toBe(graphql.spanContext().spanId);
    expect(parentOf(append)).toBe(command.spanContext().spanId);
    expect(parentOf(publish)).toBe(command.spanContext().spanId);
    expect(parentOf(batch)).toBe(publish.spanContext().spanId);
    expect(graphql.attributes['graphql.operation.type']).toBe('mutation');
    expect(command.attributes['stream.id']).toMatch(/^template-/);
    expect(append.attributes['events.count']).toBe(1);
    expect(append.attributes['stream.revision']).toBe(0);
    expect(batch.attributes['projection.name']).toBe('activity');
    for (const span of [graphql, command, append, publish, batch]) expect(span.attributes['correlation.id'], span.name).toBe(correlationId);

    const stored = await env.eventStore.readAll({ after: null, maxCount: 1_000 });
    const event = stored.find((e) => e.metadata.correlationId === correlationId)!;
    expect(event.metadata.traceparent).toBe(`00-${traceId}-${command.spanContext().spanId}-01`);

    const handled = logLines.find((line) => line.msg === 'command handled' && line.correlationId === correlationId);
    expect(handled?.trace_id).toBe(traceId);
    expect(typeof handled?.span_id).toBe('string');
  });

  it('continues a caller\'s traceparent on the NATS command API: the command and its append join the caller\'s trace', async () => {
    const server = new NatsCommandServer(env.nats, prefix, { eventStore: instrumentEventStore(env.eventStore), db: env.db, logger: silentLogger, now: () => new Date() });
    server.start();
    try {
      const callerTrace = 'ef'.repeat(16);
      const callerSpan = '12'.repeat(8);
      const h = headers();
      h.set('Authorization', `Bearer ${workspace.keys.marketer.key}`);
      h.set('traceparent', `00-${callerTrace}-${callerSpan}-01`);
      h.set(CORRELATION_HEADER, 'nats-trace-test');
      const reply = await env.nats.request(`${prefix}.commands.CreateTemplate`, JSON.stringify({ input: { name: 'Over NATS', subject: 'Hi', html: '<p>Hi</p>' } }), { timeout: 10_000, headers: h });
      expect(reply.json<{ ok: boolean }>().ok).toBe(true);
      const served = await waitForSpan((sp) => sp.name === 'nats command CreateTemplate' && sp.spanContext().traceId === callerTrace, 'nats command');
      expect(parentOf(served)).toBe(callerSpan);
      expect(served.attributes['correlation.id']).toBe('nats-trace-test');
      const command = await waitForSpan((sp) => sp.name === 'command CreateTemplate' && sp.spanContext().traceId === callerTrace, 'command');
      expect(parentOf(command)).toBe(served.spanContext().spanId);
      await waitForSpan((sp) => sp.name === 'append' && sp.spanContext().traceId === callerTrace, 'append');
    } finally {
      await server.stop();
    }
  });

  it('continues a caller\'s traceparent header, and a batch of events from several traces links to each', async () => {
    const callerTrace = 'ab'.repeat(16);
    const callerSpan = 'cd'.repeat(8);
    const response = await gql(app, workspace.keys.marketer.key, 'mutation { createTemplate(input: { name: "Linked", subject: "Hi", html: "<p>Hi</p>" }) { templateId } }', {}, { traceparent: `00-${callerTrace}-${callerSpan}-01` });
    expect(response.body.errors).toBeUndefined();
    const graphql = await waitForSpan((s) => s.name === 'graphql mutation createTemplate' && s.spanContext().traceId === callerTrace, 'graphql (continued)');
    expect(parentOf(graphql)).toBe(callerSpan);

    // Two mutations in flight while the projector is stopped arrive in one batch from two traces.
    await runner.stop();
    const ids = await Promise.all(
      ['A', 'B'].map(async (name) => {
        const r = await gql(app, workspace.keys.marketer.key, `mutation { createTemplate(input: { name: "${name}", subject: "Hi", html: "<p>Hi</p>" }) { templateId } }`, {}, { 'x-correlation-id': `batch-${name}-${Date.now()}` });
        return r.body.data!.createTemplate.templateId as string;
      }),
    );
    await waitForSpan((s) => s.name === 'relay publish' && String(s.attributes['correlation.id']).startsWith('batch-B'), 'publish B');
    await waitForSpan((s) => s.name === 'relay publish' && String(s.attributes['correlation.id']).startsWith('batch-A'), 'publish A');
    runner = new ProjectionRunner({ projection: activityProjection, db: env.db, pool: env.pool, nats: env.nats, prefix, store: instrumentEventStore(env.eventStore), logger: silentLogger });
    runner.start();
    const batch = await waitForSpan((s) => s.name === 'projector batch' && s.links.length >= 2, 'linked projector batch');
    expect(parentOf(batch)).toBeUndefined();
    const linked = batch.links.map((l) => String(l.attributes?.['correlation.id']).slice(0, 7));
    expect(linked).toEqual(expect.arrayContaining(['batch-A', 'batch-B']));
    expect(ids).toHaveLength(2);
  });
});
