import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics (served at GET /metrics). Names are prefixed `mkt_`; labels never carry
 * personal data or ids with unbounded cardinality (no contact or campaign ids).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'mkt_' });

const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const commandsTotal = new Counter({
  name: 'mkt_commands_total',
  help: 'Commands handled, by command and outcome (ok, duplicate, or the error code).',
  labelNames: ['command', 'outcome'] as const,
  registers: [registry],
});

export const commandDuration = new Histogram({
  name: 'mkt_command_duration_seconds',
  help: 'Time to handle a command, from authorization to the appended events.',
  labelNames: ['command'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

export const appendDuration = new Histogram({
  name: 'mkt_event_store_append_duration_seconds',
  help: 'Event store append latency, by adapter and kind (append, appendMany).',
  labelNames: ['adapter', 'kind'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

export const eventsAppended = new Counter({
  name: 'mkt_events_appended_total',
  help: 'Events appended through this process.',
  labelNames: ['adapter'] as const,
  registers: [registry],
});

export const relayPublished = new Counter({
  name: 'mkt_relay_published_total',
  help: 'Events the relay handed to JetStream (republished duplicates included).',
  registers: [registry],
});

export const projectionApplied = new Counter({
  name: 'mkt_projection_events_applied_total',
  help: 'Events applied by each projection (redeliveries excluded).',
  labelNames: ['projection'] as const,
  registers: [registry],
});

export const projectionParked = new Counter({
  name: 'mkt_projection_events_parked_total',
  help: 'Poison events a projection set aside.',
  labelNames: ['projection'] as const,
  registers: [registry],
});

/** Lag gauges are computed when scraped, from the store's head and the checkpoints (see registerLagGauges). */
export function lagGauge(name: string, help: string, labelNames: readonly string[], collect: (gauge: Gauge) => Promise<void>): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) registry.removeSingleMetric(name);
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      await collect(this).catch(() => {});
    },
  });
}

export const emailsSent = new Counter({
  name: 'mkt_emails_sent_total',
  help: 'Emails the SMTP provider accepted.',
  registers: [registry],
});

export const emailsFailed = new Counter({
  name: 'mkt_emails_failed_total',
  help: 'Emails not sent, by reason: permanent (5xx), temporary (4xx after the last attempt), render (template), in_doubt (connection lost mid-send; left to reconciliation).',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const emailsRequeued = new Counter({
  name: 'mkt_emails_requeued_total',
  help: 'Emails put back to pending without being handed over (provider unreachable, circuit open); they go out later.',
  registers: [registry],
});

export const sagaLaunchSteps = new Counter({
  name: 'mkt_saga_launch_steps_total',
  help: 'Launch saga steps recorded on launch streams, by the event they appended (LaunchStarted, AudienceFrozen, DeliveryStarted, LaunchPaused, LaunchCompleted, LaunchCompensated, LaunchFailed, ...).',
  labelNames: ['step'] as const,
  registers: [registry],
});

export type SmtpCircuitState = 'closed' | 'half_open' | 'open';
const CIRCUIT_VALUE: Record<SmtpCircuitState, number> = { closed: 0, half_open: 1, open: 2 };
const circuits = new Set<() => SmtpCircuitState>();

new Gauge({
  name: 'mkt_smtp_circuit_state',
  help: 'SMTP circuit breaker of this process: 0 closed, 1 half-open (a probe may go out), 2 open (sends fail fast). The worst state when a process has several senders; 0 without one.',
  registers: [registry],
  collect() {
    let worst = 0;
    for (const current of circuits) worst = Math.max(worst, CIRCUIT_VALUE[current()]);
    this.set(worst);
  },
});

/** Reports a circuit breaker's state (read at scrape time: open turns half-open by time alone); returns the unregister. */
export function trackSmtpCircuit(current: () => SmtpCircuitState): () => void {
  circuits.add(current);
  return () => void circuits.delete(current);
}

/** The outcome counts of one delivery batch (permanent/temporary refusals are counted where they are classified). */
export function countDeliveries(counts: { readonly sent: number; readonly renderFailed: number; readonly inDoubt: number; readonly requeued: number }): void {
  if (counts.sent > 0) emailsSent.inc(counts.sent);
  if (counts.renderFailed > 0) emailsFailed.inc({ reason: 'render' }, counts.renderFailed);
  if (counts.inDoubt > 0) emailsFailed.inc({ reason: 'in_doubt' }, counts.inDoubt);
  if (counts.requeued > 0) emailsRequeued.inc(counts.requeued);
}
