import type pg from 'pg';
import { createPool } from '../../src/infra/postgres.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { copyEvents } from '../support/copy.js';
import { latencyPercentiles, measureThroughput, round, timed, type Throughput } from '../support/measure.js';
import { planAppends, streamIds, type PlannedEvent } from '../support/payloads.js';
import { formatInteger, formatMs, formatPercent } from '../support/report.js';
import type { Benchmark, BenchContext, Figure, LatencyMs, ScalingPoint, SuiteReport, Target } from '../support/types.js';
import { openEmmett, type EmmettPeer } from '../support/emmett.js';

/**
 * PostgreSQL event store append throughput, as a fraction of a raw COPY of identical rows into a table with the
 * same indexes, measured in the same run (so a slow or noisy machine moves both figures together).
 */

const SIZES = {
  full: { copyRows: 100_000, singles: 5_000, writers: 20, perWriter: 1_000, batchWriters: 4, perBatchWriter: 250, scaling: [10_000, 1_000_000], copyScaling: [10_000, 1_000_000], emmettScaling: [10_000] },
  quick: { copyRows: 20_000, singles: 1_000, writers: 20, perWriter: 100, batchWriters: 4, perBatchWriter: 50, scaling: [5_000], copyScaling: [5_000], emmettScaling: [5_000] },
} as const;
/** Peer targets from the issue: batched appends ≥ 2× Emmett's, single appends ≥ 1×. */
const EMMETT_BATCHED_TARGET = 2;
const EMMETT_SINGLE_TARGET = 1;
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
    const emmett = await openEmmett((await context.createDatabase('append_emmett')).url, POOL_MAX);
    try {
      await migrateEventStore(pool);
      await pool.query('CREATE TABLE copy_target (LIKE es_events INCLUDING ALL)');
      return await runWorkloads(context, pool, store, emmett, size);
    } finally {
      await emmett.close();
      await store.close();
      await pool.end();
    }
  },
};

async function runWorkloads(
  context: BenchContext,
  pool: pg.Pool,
  store: EventStore,
  emmett: EmmettPeer,
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

  // The peer, on the same events: Emmett's PostgreSQL event store in its own database on the same server.
  const peer = async (name: string, warmUp: () => Promise<unknown>, measure: () => Promise<Measured>) => {
    context.progress(`Emmett ${name}: warming up`);
    await warmUp();
    await emmett.reset();
    context.progress(`Emmett ${name}: measuring`);
    const result = await measure();
    await emmett.reset();
    return { name, ...result.throughput, ...(result.latenciesMs === undefined ? {} : { latencyMs: latencyPercentiles(result.latenciesMs) }) };
  };
  const emmettSingle = await peer(
    'single, sequential',
    () => sequentialWith(emmett.append, planAppends(streamIds(50), 200, 1)),
    () => sequentialWith(emmett.append, planAppends(streamIds(500), size.singles, 1)),
  );
  const emmettWriters = await peer(
    `single, ${size.writers} writers`,
    () => concurrentWith(emmett.append, size.writers, () => planAppends(streamIds(5), 20, 1)),
    () => concurrentWith(emmett.append, size.writers, () => planAppends(streamIds(25), size.perWriter, 1)),
  );
  const emmettBatched = await peer(
    `batch ${BATCH}, sequential`,
    () => sequentialWith(emmett.append, planAppends(streamIds(10), 20, BATCH)),
    () => sequentialWith(emmett.append, batchedAppends),
  );

  // A second round of the two peer comparisons, ours then Emmett back to back: a neighbour's burst of load
  // during one side's only run would otherwise decide the ratio. The best run of each side counts.
  context.progress('peer comparison, second round: ours and Emmett, single then batched');
  const again = async (plan: readonly PlannedEvent[][]) => {
    await reset(pool, 'es_events', 'es_streams');
    const measuredAgain = await sequential(store, plan);
    await verifyDenseLog(pool, measuredAgain.throughput.events);
    await reset(pool, 'es_events', 'es_streams');
    return measuredAgain.throughput;
  };
  const oursSingleAgain = await again(planAppends(streamIds(500), size.singles, 1));
  const emmettSingleAgain = await peer('single, sequential (round 2)', async () => {}, () => sequentialWith(emmett.append, planAppends(streamIds(500), size.singles, 1)));
  const oursBatchedAgain = await again(planAppends(streamIds(BATCH), size.copyRows / BATCH, BATCH));
  const emmettBatchedAgain = await peer(`batch ${BATCH}, sequential (round 2)`, async () => {}, () => sequentialWith(emmett.append, planAppends(streamIds(BATCH), size.copyRows / BATCH, BATCH)));

  // Scaling: batched sequential appends (and the COPY of the same rows) at other log sizes; the workload (c)
  // above is the copyRows point. Events are generated per chunk inside the clock for all three alike. COPY runs at
  // 1M too (~25 s of the full run): the raw limit itself drops there (the table and its indexes outgrow
  // shared_buffers), and only a same-run COPY shows how much of our own drop that explains.
  const scaling: ScalingPoint[] = [];
  for (const events of size.scaling) {
    const withCopy = (size.copyScaling as readonly number[]).includes(events);
    context.progress(`scaling: ${formatInteger(events)} events, ours${withCopy ? ' then COPY' : ''}`);
    await reset(pool, 'es_events', 'es_streams');
    const ours = await measureThroughput(() => inChunks(events, (chunk) => appendAll(store, chunk, [])));
    await verifyDenseLog(pool, events);
    await reset(pool, 'es_events', 'es_streams');
    scaling.push({ series: `ours, batch ${BATCH}`, size: events, throughput: ours.eventsPerSecond, unit: 'events/s', seconds: ours.seconds });
    if (!withCopy) continue;
    await reset(pool, 'copy_target');
    const copied = await measureThroughput(() => inChunks(events, (chunk, offset) => copyOnce(pool, chunk.flat(), offset + 1)));
    await reset(pool, 'copy_target');
    scaling.push({ series: 'COPY (physical limit)', size: events, throughput: copied.eventsPerSecond, unit: 'events/s', seconds: copied.seconds });
  }
  for (const events of size.emmettScaling) {
    context.progress(`scaling: ${formatInteger(events)} events, Emmett`);
    await emmett.reset();
    const theirs = await measureThroughput(() => inChunks(events, (chunk) => appendAllWith(emmett.append, chunk, [])));
    await emmett.reset();
    scaling.push({ series: `Emmett, batch ${BATCH}`, size: events, throughput: theirs.eventsPerSecond, unit: 'events/s', seconds: theirs.seconds });
  }

  // A second COPY after the workloads shows drift; the better run is the denominator, so no ratio is flattered
  // by an unlucky baseline.
  context.progress('COPY baseline: second run');
  copyRuns.push(await copy());
  const baseline = copyRuns.reduce((best, run) => (run.eventsPerSecond > best.eventsPerSecond ? run : best));

  const workloads = measured.map(({ name, description, result, goal }) => toResult(name, description, result, baseline, goal));
  const [single, writers, batched, batchWriters] = workloads as [WorkloadResult, WorkloadResult, WorkloadResult, WorkloadResult];
  scaling.push({ series: `ours, batch ${BATCH}`, size: batched.events, throughput: batched.eventsPerSecond, unit: 'events/s', seconds: batched.seconds });
  scaling.push({ series: 'COPY (physical limit)', size: baseline.events, throughput: baseline.eventsPerSecond, unit: 'events/s', seconds: baseline.seconds });
  scaling.push({ series: `Emmett, batch ${BATCH}`, size: emmettBatched.events, throughput: emmettBatched.eventsPerSecond, unit: 'events/s', seconds: emmettBatched.seconds });
  scaling.sort((a, b) => a.series.localeCompare(b.series) || a.size - b.size);
  const best = (...rates: number[]) => Math.max(...rates);
  const oursBatchedBest = best(batched.eventsPerSecond, oursBatchedAgain.eventsPerSecond);
  const emmettBatchedBest = best(emmettBatched.eventsPerSecond, emmettBatchedAgain.eventsPerSecond);
  const oursSingleBest = best(single.eventsPerSecond, oursSingleAgain.eventsPerSecond);
  const emmettSingleBest = best(emmettSingle.eventsPerSecond, emmettSingleAgain.eventsPerSecond);
  const vsEmmettBatched = round(oursBatchedBest / emmettBatchedBest, 3);
  const vsEmmettSingle = round(oursSingleBest / emmettSingleBest, 3);
  const vsEmmettWriters = round(writers.eventsPerSecond / emmettWriters.eventsPerSecond, 3);
  const copyFigure = { name: 'COPY of the same rows', value: baseline.eventsPerSecond, unit: 'events/s' };
  const figures: Figure[] = [
    { name: `batched append (${BATCH} events/append), sequential, best of 2 rounds`, value: oursBatchedBest, unit: 'events/s', baseline: { name: 'Emmett, best of 2', value: emmettBatchedBest }, ratio: vsEmmettBatched, target: `≥ ${EMMETT_BATCHED_TARGET}× Emmett`, met: vsEmmettBatched >= EMMETT_BATCHED_TARGET },
    { name: `batched append (${BATCH} events/append), sequential`, value: batched.eventsPerSecond, unit: 'events/s', baseline: copyFigure, ratio: batched.ratioToCopy, target: `≥ ${BATCHED_TARGET_RATIO * 100}% of COPY`, met: batched.met === true },
    { name: 'single-event append, sequential, best of 2 rounds', value: oursSingleBest, unit: 'events/s', baseline: { name: 'Emmett, best of 2', value: emmettSingleBest }, ratio: vsEmmettSingle, target: `≥ ${EMMETT_SINGLE_TARGET}× Emmett`, met: vsEmmettSingle >= EMMETT_SINGLE_TARGET },
    { name: 'single-event append latency p99', value: single.latencyMs!.p99, unit: 'ms', ...(emmettSingle.latencyMs === undefined ? {} : { baseline: { name: 'Emmett p99', value: emmettSingle.latencyMs.p99 } }), target: `≤ ${SINGLE_P99_TARGET_MS} ms`, met: single.met === true },
    { name: `single-event append, ${size.writers} writers`, value: writers.eventsPerSecond, unit: 'events/s', baseline: { name: 'Emmett', value: emmettWriters.eventsPerSecond }, ratio: vsEmmettWriters },
    { name: `batched append, ${size.batchWriters} writers`, value: batchWriters.eventsPerSecond, unit: 'events/s', baseline: copyFigure, ratio: batchWriters.ratioToCopy },
  ];
  const targets: Target[] = [
    ...workloads.flatMap((w) => (w.target === undefined ? [] : [{ description: `${w.name}: ${w.target}`, met: w.met === true }])),
    { description: `batched append ≥ ${EMMETT_BATCHED_TARGET}× Emmett (${vsEmmettBatched}×)`, met: vsEmmettBatched >= EMMETT_BATCHED_TARGET },
    { description: `single append ≥ ${EMMETT_SINGLE_TARGET}× Emmett (${vsEmmettSingle}×)`, met: vsEmmettSingle >= EMMETT_SINGLE_TARGET },
  ];
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
      emmett: { single: emmettSingle, writers: emmettWriters, batched: emmettBatched, secondRound: { oursSingle: oursSingleAgain, emmettSingle: emmettSingleAgain, oursBatched: oursBatchedAgain, emmettBatched: emmettBatchedAgain }, vsEmmett: { batched: vsEmmettBatched, single: vsEmmettSingle, writers: vsEmmettWriters } },
    },
    figures,
    scaling,
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
        ['ours: single, sequential (round 2)', formatInteger(oursSingleAgain.events), oursSingleAgain.seconds.toFixed(2), formatInteger(oursSingleAgain.eventsPerSecond), formatPercent(oursSingleAgain.eventsPerSecond / baseline.eventsPerSecond), '', '', '', '', ''],
        ['ours: batch 100, sequential (round 2)', formatInteger(oursBatchedAgain.events), oursBatchedAgain.seconds.toFixed(2), formatInteger(oursBatchedAgain.eventsPerSecond), formatPercent(oursBatchedAgain.eventsPerSecond / baseline.eventsPerSecond), '', '', '', '', ''],
        ...[emmettSingle, emmettWriters, emmettBatched, emmettSingleAgain, emmettBatchedAgain].map((e) => [
          `Emmett: ${e.name}`,
          formatInteger(e.events),
          e.seconds.toFixed(2),
          formatInteger(e.eventsPerSecond),
          formatPercent(e.eventsPerSecond / baseline.eventsPerSecond),
          e.latencyMs === undefined ? '' : formatMs(e.latencyMs.p50),
          e.latencyMs === undefined ? '' : formatMs(e.latencyMs.p95),
          e.latencyMs === undefined ? '' : formatMs(e.latencyMs.p99),
          '',
          '',
        ]),
        ...scaling.map((p) => [`scaling: ${p.series}`, formatInteger(p.size), (p.seconds ?? 0).toFixed(2), formatInteger(p.throughput), '', '', '', '', '', '']),
      ],
    },
    targets,
    notes: [
      `COPY runs (events/s): ${copyRuns.map((r) => formatInteger(r.eventsPerSecond)).join(', ')}`,
      `vs Emmett: batched ${vsEmmettBatched}×, single ${vsEmmettSingle}×, ${size.writers} writers ${vsEmmettWriters}×`,
    ],
  };
}

function toResult(name: string, description: string, measured: Measured, baseline: Throughput, goal?: Goal): WorkloadResult {
  const ratioToCopy = round(measured.throughput.eventsPerSecond / baseline.eventsPerSecond, 4);
  const latencyMs = measured.latenciesMs === undefined ? undefined : latencyPercentiles(measured.latenciesMs);
  const result = { name, description, ...measured.throughput, ratioToCopy, ...(latencyMs === undefined ? {} : { latencyMs }) };
  return goal === undefined ? result : { ...result, target: goal.description, met: goal.met(result) };
}

async function copyOnce(pool: pg.Pool, events: readonly PlannedEvent[], firstPosition = 1): Promise<number> {
  const client = await pool.connect();
  try {
    return await copyEvents(client, 'copy_target', events, firstPosition);
  } finally {
    client.release();
  }
}

type AppendOne = (planned: readonly PlannedEvent[]) => Promise<number>;

const oursAppend = (store: EventStore): AppendOne => async (planned) => {
  const first = planned[0]!;
  const expectedRevision = first.revision === 0 ? 'no_stream' : first.revision - 1;
  await store.append(first.streamId, planned.map((p) => p.event), { expectedRevision });
  return planned.length;
};

/** Appends each planned append in order, timing each one. */
async function appendAllWith(append: AppendOne, appends: readonly PlannedEvent[][], latenciesMs: number[]): Promise<number> {
  let events = 0;
  for (const planned of appends) events += await timed(latenciesMs, () => append(planned));
  return events;
}

function appendAll(store: EventStore, appends: readonly PlannedEvent[][], latenciesMs: number[]): Promise<number> {
  return appendAllWith(oursAppend(store), appends, latenciesMs);
}

/**
 * `events` events in batches of BATCH over BATCH fresh streams per chunk of 10,000, built chunk by chunk so a
 * million events never sit in memory at once; `offset` is the chunk's first event index.
 */
async function inChunks(events: number, write: (chunk: PlannedEvent[][], offset: number) => Promise<number>): Promise<number> {
  const CHUNK = 10_000;
  let written = 0;
  for (let offset = 0; offset < events; offset += CHUNK) {
    written += await write(planAppends(streamIds(BATCH), Math.min(CHUNK, events - offset) / BATCH, BATCH), offset);
  }
  return written;
}

async function sequentialWith(append: AppendOne, appends: readonly PlannedEvent[][]): Promise<Measured> {
  const latenciesMs: number[] = [];
  const throughput = await measureThroughput(() => appendAllWith(append, appends, latenciesMs));
  return { throughput, latenciesMs };
}

async function concurrentWith(append: AppendOne, writers: number, plan: () => PlannedEvent[][]): Promise<Measured> {
  const plans = Array.from({ length: writers }, plan);
  const latenciesMs: number[] = [];
  const throughput = await measureThroughput(async () => {
    const counts = await Promise.all(plans.map((appends) => appendAllWith(append, appends, latenciesMs)));
    return counts.reduce((a, b) => a + b, 0);
  });
  return { throughput, latenciesMs };
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
