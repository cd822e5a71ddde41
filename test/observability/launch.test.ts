/**
 * A campaign launch seen through /metrics and traces: emails sent and failed, launch steps, launches by status,
 * relay and projection lag, the SMTP circuit state; and the saga's spans continue the launch command's trace.
 * Real pipeline (PostgreSQL, NATS, relay, projectors), a real SMTP sink, a real saga worker.
 */
import type { FastifyInstance } from 'fastify';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { silentLogger } from '../../src/infra/logger.js';
import { startTracing } from '../../src/infra/tracing.js';
import { withSpan } from '../../src/infra/spans.js';
import { campaignsProjections } from '../../src/projections/campaigns/index.js';
import { registerLagGauges } from '../../src/projections/runner/lagMetrics.js';
import { createSmtpSender } from '../../src/sagas/delivery/smtpSender.js';
import { createCampaign, createContacts, createTemplate, defineSegment, emailsOf, launch, useLaunchWorld, waitFor, waitForLaunch, type LaunchWorld } from '../sagas/launch/support.js';

const memory = new InMemorySpanExporter();
const tracing = await startTracing({ exporter: 'none', endpoint: 'http://localhost:4318', serviceName: 'test' }, undefined, [new SimpleSpanProcessor(memory)]);
// At the top level, so that the world's afterAll hooks register (vitest ignores hooks registered inside hooks).
const world: LaunchWorld = await useLaunchWorld('obs_launch');
world.startWorker();
registerLagGauges({ store: world.env.eventStore, db: world.env.db, relayCheckpointKey: `${world.prefix}/default`, projections: campaignsProjections.map((p) => p.name) });
const app: FastifyInstance = await buildServer(world.env.deps);
afterAll(async () => {
  await app.close();
  await tracing.shutdown();
});

const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('a launch through /metrics and traces', () => {
  it('counts the emails sent and failed, the launch steps and the completed launch; lag returns to 0', async () => {
    const emails = emailsOf(6, 'obs');
    await createContacts(world, emails.map((email) => ({ email, tags: ['obs'] })));
    world.sink.failRecipient(emails[2]!, 550);
    const segmentId = await defineSegment(world, { tag: 'obs' });
    const templateId = await createTemplate(world, { subject: 'Hi', html: '<p>Hi</p><a href="{{ unsubscribe_url }}">unsubscribe</a>' });
    const campaignId = await createCampaign(world, { segmentId, templateId });
    await withSpan('test launch', { 'correlation.id': 'obs-launch' }, () => launch(world, campaignId));
    await waitForLaunch(world, campaignId, ['completed']);
    await world.caughtUp();

    let text = await scrape();
    await waitFor(async () => {
      text = await scrape();
      return value(text, 'mkt_saga_launches{status="completed"}') === 1 && value(text, 'mkt_relay_lag_events') === 0;
    }, 'the campaign read model shows the completed launch and the relay is caught up');
    expect(value(text, 'mkt_emails_sent_total')).toBe(5);
    expect(value(text, 'mkt_emails_failed_total{reason="permanent"}')).toBe(1);
    for (const step of ['LaunchStarted', 'AudienceFrozen', 'DeliveryStarted', 'LaunchCompleted']) expect(value(text, `mkt_saga_launch_steps_total{step="${step}"}`), step).toBe(1);
    expect(value(text, 'mkt_saga_launches{status="running"}')).toBe(0);
    expect(value(text, 'mkt_relay_lag_seconds')).toBe(0);
    expect(value(text, 'mkt_projection_lag_events{projection="campaigns"}')).toBe(0);
    expect(value(text, 'mkt_projection_lag_seconds{projection="campaigns"}')).toBe(0);
    expect(value(text, 'mkt_smtp_circuit_state')).toBe(0);

    // The saga continued the launch command's trace: the follower's step and the StartLaunch command are in it,
    // and the delivery round (its own trace) links to it; each carries the correlation id of the launch request.
    const spans = memory.getFinishedSpans();
    const root = spans.find((s) => s.name === 'test launch')!;
    const traceId = root.spanContext().traceId;
    const launched = await world.env.eventStore.readStream(`campaign-${campaignId}`);
    const correlationId = launched.status === 'found' ? launched.events.find((e) => e.type === 'CampaignLaunched')!.metadata.correlationId : null;
    const saga = spans.find((s) => s.name === 'saga launch CampaignLaunched' && s.spanContext().traceId === traceId);
    expect(saga?.attributes['correlation.id']).toBe(correlationId);
    const start = spans.find((s) => s.name === 'command StartLaunch' && s.spanContext().traceId === traceId);
    expect(start?.parentSpanContext?.spanId).toBe(saga?.spanContext().spanId);
    expect(start?.attributes['correlation.id']).toBe(correlationId);
    const delivery = spans.find((s) => s.name === 'saga launch delivery' && s.attributes['campaign.id'] === campaignId);
    expect(delivery?.links.map((l) => l.context.traceId)).toEqual([traceId]);
    expect(delivery?.attributes['correlation.id']).toBe(correlationId);
  });

  it('reports an open SMTP circuit as 2 while that sender exists', async () => {
    const sender = createSmtpSender({ smtpUrl: 'smtp://127.0.0.1:1', logger: silentLogger, maxAttempts: 1, circuit: { failureThreshold: 1, coolDownMs: 60_000 }, timeoutsMs: { connection: 1_000, greeting: 1_000, socket: 1_000 } });
    try {
      await expect(sender.send({ campaignId: 'c', variantKey: 'main', contactId: 'k', to: 'a@example.org', from: { email: 'news@mail.example.com', name: null }, replyTo: null, subject: 's', html: 'h', text: 't', unsubscribeUrl: 'https://t.example.com/u' })).rejects.toThrow();
      expect(sender.circuitState).toBe('open');
      expect(value(await scrape(), 'mkt_smtp_circuit_state')).toBe(2);
    } finally {
      await sender.close();
    }
    expect(value(await scrape(), 'mkt_smtp_circuit_state')).toBe(0);
  });
});
