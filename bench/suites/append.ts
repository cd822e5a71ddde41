import type pg from 'pg';
import { createPool } from '../../src/infra/postgres.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { copyEvents } from '../support/copy.js';
import { latencyPercentiles, measureThroughput, round, timed, type Throughput } from '../support/measure.js';
import { planAppends, streamIds, type PlannedEvent } from '../support/payloads.js';
import { formatInteger, formatMs, formatPercent } from '../support/report.js';
import type { Benchmark, BenchContext, LatencyMs, SuiteReport, Target } from '../support/types.js';

/**
 * PostgreSQL event store append throughput, as a fraction of a raw COPY of identical rows into a table with the
 * same indexes, measured in the same run (so a slow or noisy machine moves both figures together).
 */

const SIZES = {
  full: { copyRows: 100_000, singles: 5_000, writers: 20, perWriter: 1_000, batchWriters: 4, perBatchWriter: 250 },
  quick: { copyRows: 20_000, singles: 1_000, writers: 20, perWriter: 100, batchWriters: 4, perBatchWriter: 50 },
} as const;
const BATCH = 100;
const POOL_MAX = 24; // ≥ writers + 1
const BATCHED_TARGET_RATIO = 0.4;
const SINGLE_P99_TARGET_MS = 5;

interface WorkloadResult extends Throughput {
  readonly name: string;
  readonly description: string;
  readonly ratioToCopy: number;
  readonly latencyMs?: LatencyMs;
  readonly target?: string;
  readonly met?: boolean;
}

/** A target from the issue, judged on the finished workload. */
interface Goal {
  readonly description: string;
  readonly met: (result: { readonly ratioToCopy: number; readonly latencyMs?: LatencyMs }) => boolean;
}

const BATCHED_GOAL: Goal = {
  description: `≥ ${BATCHED_TARGET_RATIO * 100}% of COPY`,
  met: ({ ratioToCopy }) => ratioToCopy >= BATCHED_TARGET_RATIO,
};
const SINGLE_LATENCY_GOAL: Goal = {
  description: `p99 ≤ ${SINGLE_P99_TARGET_MS} ms`,
  met: ({ latencyMs }) => latencyMs !== undefined && latencyMs.p99 <= SINGLE_P99_TARGET_MS,
};

interface Measured {
  readonly throughput: Throughput;
  readonly latenciesMs?: readonly number[];
}

export const benchmark: Benchmark = {
  name: 'append',
  description: 'PostgreSQL event store append throughput vs a raw COPY of the same rows',
  async run(context) {
    const size = context.quick ? SIZES.quick : SIZES.full;
    const database = await context.createDatabase('append');
    const pool = createPool({ connectionString: database.url, max: POOL_MAX, applicationName: 'bench-append' });
    const store = createPostgresEventStore({ pool });
    try {
      await migrateEventStore(pool);
      await pool.query('CREATE TABLE copy_target (LIKE es_events INCLUDING ALL)');
      return await runWorkloads(context, pool, store, size);
    } finally {
      await store.close();
      await pool.end();
    }
  },
};

async function runWorkloads(
  context: BenchContext,
  pool: pg.Pool,
  store: EventStore,
  size: (typeof SIZES)[keyof typeof SIZES],
): Promise<SuiteReport> {
  // The batched workload appends exactly the events the COPY baseline copies, in the same order.
  const batchedAppends = planAppends(streamIds(BATCH), size.copyRows / BATCH, BATCH);
  const copyPlan = batchedAppends.flat();
  const copy = async (): Promise<Throughput> => {
    await copyOnce(pool, copyPlan.slice(0, Math.min(5_000, copyPlan.length))); // warm-up
    await reset(pool, 'copy_target');
    const result = await measureThroughput(() => copyOnce(pool, copyPlan));
    await reset(pool, 'copy_target');
    return result;
  };

  context.progress(`COPY baseline: ${formatInteger(size.copyRows)} rows`);
  const copyRuns = [await copy()];

  const measured: { name: string; description: string; result: Measured; goal?: Goal }[] = [];
  const workload = async (
    name: string,
    description: string,
    warmUp: () => Promise<unknown>,
    measure: () => Promise<Measured>,
    goal?: Goal,
  ) => {
    context.progress(`${name}: warming up`);
    await warmUp();
    await reset(pool, 'es_events', 'es_streams');
    context.progress(`${name}: measuring`);
    const result = await measure();
    await verifyDenseLog(pool, result.throughput.events);
    await reset(pool, 'es_events', 'es_streams');
    measured.push({ name, description, result, ...(goal === undefined ? {} : { goal }) });
  };

  await workload(
    'single, sequential',
    `${formatInteger(size.singles)} one-event appends, one at a time, rotating over 500 streams, exact expected revisions`,
    () => sequential(store, planAppends(streamIds(50), 200, 1)),
    () => sequential(store, planAppends(streamIds(500), size.singles, 1)),
    SINGLE_LATENCY_GOAL,
  );
  await workload(
    `single, ${size.writers} writers`,
    `${size.writers} concurrent writers × ${formatInteger(size.perWriter)} one-event appends, 25 streams each`,
    () => concurrent(store, size.writers, () => planAppends(streamIds(5), 20, 1)),
    () => concurrent(store, size.writers, () => planAppends(streamIds(25), size.perWriter, 1)),
  );
  await workload(
    `batch ${BATCH}, sequential`,
    `${formatInteger(batchedAppends.length)} appends of ${BATCH} events, one at a time, rotating over ${BATCH} streams: the COPY's rows`,
    () => sequential(store, planAppends(streamIds(10), 20, BATCH)),
    () => sequential(store, batchedAppends),
    BATCHED_GOAL,
  );
  await workload(
    `batch ${BATCH}, ${size.batchWriters} writers`,
    `${size.batchWriters} concurrent writers × ${size.perBatchWriter} appends of ${BATCH} events, 25 streams each`,
    () => concurrent(store, size.batchWriters, () => planAppends(streamIds(5), 5, BATCH)),
    () => concurrent(store, size.batchWriters, () => planAppends(streamIds(25), size.perBatchWriter, BATCH)),
  );

  // A second COPY after the workloads shows drift; the better run is the denominator, so no ratio is flattered
  // by an unlucky baseline.
  context.progress('COPY baseline: second run');
  copyRuns.push(await copy());
  const baseline = copyRuns.reduce((best, run) => (run.eventsPerSecond > best.eventsPerSecond ? run : best));

  const workloads = measured.map(({ name, description, result, goal }) => toResult(name, description, result, baseline, goal));
  const targets: Target[] = workloads.flatMap((w) => (w.target === undefined ? [] : [{ description: `${w.name}: ${w.target}`, met: w.met === true }]));
  return {
    body: {
      baseline: {
        method: 'COPY es_events-shaped rows FROM STDIN (pg-copy-streams, text format) into copy_target (LIKE es_events INCLUDING ALL)',
        rows: size.copyRows,
        seconds: baseline.seconds,
        eventsPerSecond: baseline.eventsPerSecond,
        runs: copyRuns,
      },
      workloads,
    },
    table: {
      headers: ['workload', 'events', 'seconds', 'events/s', 'vs COPY', 'p50 ms', 'p95 ms', 'p99 ms', 'target', 'met'],
      rows: [
        ['COPY baseline (best of 2)', formatInteger(baseline.events), baseline.seconds.toFixed(2), formatInteger(baseline.eventsPerSecond), '100.0%', '', '', '', '', ''],
        ...workloads.map((w) => [
          w.name,
          formatInteger(w.events),
          w.seconds.toFixed(2),
          formatInteger(w.eventsPerSecond),
          formatPercent(w.ratioToCopy),
          w.latencyMs === undefined ? '' : formatMs(w.latencyMs.p50),
          w.latencyMs === undefined ? '' : formatMs(w.latencyMs.p95),
          w.latencyMs === undefined ? '' : formatMs(w.latencyMs.p99),
          w.target ?? '',
          w.met === undefined ? '' : w.met ? 'yes' : 'NO',
        ]),
      ],
    },
    targets,
    notes: [`COPY runs (events/s): ${copyRuns.map((r) => formatInteger(r.eventsPerSecond)).join(', ')}`],
  };
}

function toResult(name: string, description: string, measured: Measured, baseline: Throughput, goal?: Goal): WorkloadResult {
  const ratioToCopy = round(measured.throughput.eventsPerSecond / baseline.eventsPerSecond, 4);
  const latencyMs = measured.latenciesMs === undefined ? undefined : latencyPercentiles(measured.latenciesMs);
  const result = { name, description, ...measured.throughput, ratioToCopy, ...(latencyMs === undefined ? {} : { latencyMs }) };
  return goal === undefined ? result : { ...result, target: goal.description, met: goal.met(result) };
}

async function copyOnce(pool: pg.Pool, events: readonly PlannedEvent[]): Promise<number> {
  const client = await pool.connect();
  try {
    return await copyEvents(client, 'copy_target', events);
  } finally {
    client.release();
  }
}

/** Appends each planned append in order, timing each one. */
async function appendAll(store: EventStore, appends: readonly PlannedEvent[][], latenciesMs: number[]): Promise<number> {
  let events = 0;
  for (const planned of appends) {
    const first = planned[0]!;
    const expectedRevision = first.revision === 0 ? 'no_stream' : first.revision - 1;
    await timed(latenciesMs, () => store.append(first.streamId, planned.map((p) => p.event), { expectedRevision }));
    events += planned.length;
  }
  return events;
}

async function sequential(store: EventStore, appends: readonly PlannedEvent[][]): Promise<Measured> {
  const latenciesMs: number[] = [];
  const throughput = await measureThroughput(() => appendAll(store, appends, latenciesMs));
  return { throughput, latenciesMs };
}

/** `writers` concurrent loops, each over its own streams (plans are built before the clock starts). */
async function concurrent(store: EventStore, writers: number, plan: () => PlannedEvent[][]): Promise<Measured> {
  const plans = Array.from({ length: writers }, plan);
  const latenciesMs: number[] = [];
  const throughput = await measureThroughput(async () => {
    const counts = await Promise.all(plans.map((appends) => appendAll(store, appends, latenciesMs)));
    return counts.reduce((a, b) => a + b, 0);
  });
  return { throughput, latenciesMs };
}

/** Every measured workload starts from empty tables and a fresh checkpoint, like the COPY it is compared with. */
async function reset(pool: pg.Pool, ...tables: string[]): Promise<void> {
  await pool.query(`TRUNCATE ${tables.join(', ')}`);
  await pool.query('CHECKPOINT').catch(() => {}); // needs superuser or pg_checkpoint; only reduces noise
}

/** The store must have written exactly `events` rows with positions 1..events (dense, no gaps). */
async function verifyDenseLog(pool: pg.Pool, events: number): Promise<void> {
  const { rows } = await pool.query<{ count: string; min: string | null; max: string | null }>(
    'SELECT count(*) AS count, min(position) AS min, max(position) AS max FROM es_events',
  );
  const row = rows[0]!;
  if (Number(row.count) !== events || Number(row.min) !== 1 || Number(row.max) !== events) {
    throw new Error(`append bench wrote ${row.count} events at positions ${row.min}..${row.max}; expected ${events} at 1..${events}`);
  }
}
