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
