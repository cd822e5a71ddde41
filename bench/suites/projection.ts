import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AckPolicy, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { fromWire, type WireEvent } from '../../src/eventstore/envelope.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { nextWithin } from '../../src/infra/async.js';
import { consumeDurable, eventStreamName, eventSubjects } from '../../src/infra/jetstream.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { readProjectionCheckpoint } from '../../src/projections/runner/queries.js';
import { benchProjection, createRowsTable, rowsOf, tableOf } from '../support/benchProjection.js';
import { copyEvents } from '../support/copy.js';
import { round } from '../support/measure.js';
import { planAppends, streamIds } from '../support/payloads.js';
import { formatInteger, formatPercent } from '../support/report.js';
import { nodeArgsFor } from '../support/childProcess.js';
import type { Benchmark, BenchContext, Figure, ScalingPoint, SuiteReport } from '../support/types.js';

/**
 * Projection catch-up: N events already in the store are published by the relay to JetStream, then
 * - ours: a ProjectionRunner (durable consumer, batch + checkpoint in one transaction, gap checks, ack) applies
 *   them with a projection writing one row per event (bench/support/benchProjection.ts);
 * - baseline: a raw JetStream consumer → PostgreSQL loop writing the very same rows with the same multi-row
 *   INSERT per batch (no checkpoint, no transaction of its own, no gap checks), same batch size.
 * Both start from the same published stream, one after the other. Also: the relay's own publish rate, and
 * catch-up with 1, 2 and 4 projector processes (4 projections split over the processes).
 */

// 1M only with --large: the relay alone publishes ~6k events/s here, so 1M takes minutes (see README).
const SIZES = { full: [10_000, 100_000], quick: [2_000, 5_000], large: [10_000, 100_000, 1_000_000] } as const;
const PROCESS_EVENTS = { full: 20_000, quick: 5_000 } as const;
const PROCESS_COUNTS = [1, 2, 4] as const;
const PROJECTIONS_FOR_PROCESSES = 4;
const BATCH = 500;
const TARGET_RATIO = 0.5;
const COPY_CHUNK = 10_000;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

interface World {
  readonly url: string;
  readonly pool: ReturnType<typeof createPool>;
  readonly db: ReturnType<typeof createKysely<Database>>;
  readonly nats: NatsConnection;
  readonly prefix: string;
  readonly store: ReturnType<typeof createPostgresEventStore>;
  readonly relaySeconds: number;
  close(): Promise<void>;
}

/** A fresh database holding `events` events, all published to a fresh JetStream stream by the relay. */
async function publishedWorld(context: BenchContext, events: number): Promise<World> {
  const database = await context.createDatabase(`projection_${events}`);
  const pool = createPool({ connectionString: database.url, max: 12, applicationName: 'bench-projection' });
  const db = createKysely<Database>(pool);
  await migrateEventStore(pool);
  await migrateReadModels(db);
  context.progress(`${formatInteger(events)} events: seeding the store (COPY)`);
  const client = await pool.connect();
  try {
    for (let offset = 0; offset < events; offset += COPY_CHUNK) {
      const planned = planAppends(streamIds(100), Math.min(COPY_CHUNK, events - offset) / 100, 100).flat();
      await copyEvents(client, 'es_events', planned, offset + 1);
    }
  } finally {
    client.release();
  }
  const store = createPostgresEventStore({ pool });
  const nats = await connect({ servers: NATS_URL });
  const prefix = `bp${randomBytes(4).toString('hex')}`;
  context.progress(`${formatInteger(events)} events: the relay publishes them`);
  const relay = new Relay({ store, db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 50 });
  const started = performance.now();
  relay.start();
  const jsm = await jetstreamManager(nats);
  for (;;) {
    const info = await jsm.streams.info(eventStreamName(prefix)).catch(() => null);
    if (info !== null && info.state.messages >= events) break;
    if (performance.now() - started > 10 * 60_000) throw new Error('the relay did not publish everything within 10 min');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const relaySeconds = round((performance.now() - started) / 1_000, 3);
  context.progress(`${formatInteger(events)} events: published in ${relaySeconds} s`);
  await withTimeout(relay.stop(), 'relay stop');
  return {
    url: database.url,
    pool,
    db,
    nats,
    prefix,
    store,
    relaySeconds,
    async close() {
      // Each step bounded: a pool whose leadership connection was not given back would hang pool.end().
      await withTimeout(jsm.streams.delete(eventStreamName(prefix)).catch(() => {}), 'deleting the JetStream stream');
      await withTimeout(nats.close(), 'closing NATS');
      await withTimeout(store.close(), 'closing the event store');
      await withTimeout(pool.end(), 'ending the pool');
    },
  };
}

async function withTimeout(promise: Promise<unknown>, what: string, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(() => resolve(process.stderr.write(`  · ${what} took over ${ms / 1_000} s; moving on\n`)), ms)))]);
  clearTimeout(timer);
}

/** Seconds until every projection's checkpoint reaches `events`. */
async function waitForCheckpoints(world: World, names: readonly string[], events: number, started: number): Promise<number> {
  for (;;) {
    const checkpoints = await Promise.all(names.map((name) => readProjectionCheckpoint(world.db, name)));
    if (checkpoints.every((c) => c !== null && c >= BigInt(events))) return (performance.now() - started) / 1_000;
    if (performance.now() - started > 10 * 60_000) throw new Error(`projections ${names.join(', ')} did not catch up within 10 min`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function ours(world: World, events: number): Promise<number> {
  const name = `bench_ours_${randomBytes(3).toString('hex')}`;
  await createRowsTable(world.pool, tableOf(name));
  const runner = new ProjectionRunner({ projection: benchProjection(name), db: world.db, pool: world.pool, nats: world.nats, prefix: world.prefix, store: world.store, logger: silentLogger, batchSize: BATCH, standbyRetryMs: 100 });
  const started = performance.now();
  runner.start();
  const seconds = await waitForCheckpoints(world, [name], events, started);
  await withTimeout(runner.stop(), 'projection runner stop');
  await verifyRows(world, tableOf(name), events);
  return seconds;
}

/** The raw loop: pull, parse, one multi-row INSERT per batch, acknowledge. */
async function raw(world: World, events: number): Promise<number> {
  const table = `bench_raw_${randomBytes(3).toString('hex')}`;
  await createRowsTable(world.pool, table);
  const started = performance.now();
  const messages = await consumeDurable(world.nats, world.prefix, { durable_name: `${world.prefix}_raw_${table}`, ack_policy: AckPolicy.All, filter_subject: eventSubjects(world.prefix), ack_wait: 30_000_000_000, max_ack_pending: 20_000 }, BATCH * 2);
  // The same batching as the runner: what has arrived within 2 ms of the previous message, up to BATCH.
  let done = 0;
  const iterator = messages[Symbol.asyncIterator]();
  let next = iterator.next();
  while (done < events) {
    const first = await next;
    if (first.done === true) break;
    const batch: JsMsg[] = [first.value];
    next = iterator.next();
    while (batch.length < BATCH) {
      const more = await nextWithin(next, 2);
      if (more === null || more.done === true) break;
      batch.push(more.value);
      next = iterator.next();
    }
    const parsed = batch.map((m) => fromWire(m.json<WireEvent>()));
    // A redelivery (ack wait passed on a busy machine) must not fail the loop: same conflict rule as ours.
    await sql`INSERT INTO ${sql.table(table)} (position, stream_id, type, data) ${rowsOf(parsed)} ON CONFLICT (position) DO NOTHING`.execute(world.db);
    batch[batch.length - 1]!.ack();
    done += batch.length;
  }
  const seconds = (performance.now() - started) / 1_000;
  // Closing with messages still pulled ahead can wait on the server; bounded like the runner's stop.
  await withTimeout(messages.close().catch(() => {}), 'closing the raw consumer', 3_000);
  await verifyRows(world, table, events);
  return seconds;
}

/** The first `events` positions are all there, once each (a run may go on past them before it is stopped). */
async function verifyRows(world: World, table: string, events: number): Promise<void> {
  const { rows } = await world.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE position <= $1`, [events]);
  if (Number(rows[0]!.n) !== events) throw new Error(`${table} holds ${rows[0]!.n} of the first ${events} positions`);
}

/** 4 projections split over `processes` child processes; seconds until all 4 caught up. */
async function inProcesses(world: World, events: number, processes: number): Promise<number> {
  const names = Array.from({ length: PROJECTIONS_FOR_PROCESSES }, (_, i) => `bench_p${processes}_${i}_${randomBytes(2).toString('hex')}`);
  for (const name of names) await createRowsTable(world.pool, tableOf(name));
  const entry = fileURLToPath(new URL('../support/projectorProcess.ts', import.meta.url));
  const groups = Array.from({ length: processes }, (_, p) => names.filter((_, i) => i % processes === p));
  const children: ChildProcess[] = [];
  try {
    // Every process is up (modules loaded, connected) before the clock starts; then all start at once.
    await Promise.all(
      groups.map(
        (group) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, nodeArgsFor(entry), {
              env: { ...process.env, DATABASE_URL: world.url, NATS_URL, NATS_PREFIX: world.prefix, PROJECTIONS: group.join(',') },
              stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
            });
            children.push(child);
            child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
            child.once('exit', (code) => reject(new Error(`projector process exited (${code})`)));
          }),
      ),
    );
    const started = performance.now();
    for (const child of children) child.send('go');
    return await waitForCheckpoints(world, names, events, started);
  } finally {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            child.removeAllListeners('exit');
            if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}

export const benchmark: Benchmark = {
  name: 'projection',
  description: 'projection catch-up through the relay and JetStream vs a raw JetStream → PostgreSQL batched insert loop; 1/2/4 projector processes',
  large: true,
  async run(context): Promise<SuiteReport> {
    const sizes = context.quick ? SIZES.quick : context.large ? SIZES.large : SIZES.full;
    const runs: { events: number; relaySeconds: number; relayPerSecond: number; oursSeconds: number; oursPerSecond: number; rawSeconds: number; rawPerSecond: number; ratio: number }[] = [];
    const processEvents = context.quick ? PROCESS_EVENTS.quick : PROCESS_EVENTS.full;
    const processRuns: { processes: number; seconds: number; eventsPerSecond: number }[] = [];
    // One store and one published stream for every measurement: each catch-up consumes its first N events.
    const published = Math.max(...sizes, processEvents);
    const world = await publishedWorld(context, published);
    try {
      for (const events of sizes) {
        context.progress(`${formatInteger(events)} events: ours (ProjectionRunner)`);
        const oursSeconds = await ours(world, events);
        context.progress(`${formatInteger(events)} events: raw JetStream → PostgreSQL loop`);
        const rawSeconds = await raw(world, events);
        const run = {
          events,
          relaySeconds: world.relaySeconds,
          relayPerSecond: Math.round(published / world.relaySeconds),
          oursSeconds: round(oursSeconds, 3),
          oursPerSecond: Math.round(events / oursSeconds),
          rawSeconds: round(rawSeconds, 3),
          rawPerSecond: Math.round(events / rawSeconds),
          ratio: round(rawSeconds / oursSeconds, 3),
        };
        context.progress(`${formatInteger(events)} events: ours ${formatInteger(run.oursPerSecond)}/s, raw ${formatInteger(run.rawPerSecond)}/s`);
        runs.push(run);
      }
      // The process counts are the full run's (their size does not change with --large).
      for (const processes of context.large ? [] : PROCESS_COUNTS) {
        context.progress(`${PROJECTIONS_FOR_PROCESSES} projections × ${formatInteger(processEvents)} events in ${processes} process(es)`);
        const seconds = await inProcesses(world, processEvents, processes);
        processRuns.push({ processes, seconds: round(seconds, 3), eventsPerSecond: Math.round((PROJECTIONS_FOR_PROCESSES * processEvents) / seconds) });
      }
    } finally {
      await world.close();
    }

    const largest = runs[runs.length - 1]!;
    const scaling: ScalingPoint[] = [
      ...runs.map((r) => ({ series: 'ours (ProjectionRunner)', size: r.events, throughput: r.oursPerSecond, unit: 'events/s', seconds: r.oursSeconds })),
      ...runs.map((r) => ({ series: 'raw JetStream → PG loop', size: r.events, throughput: r.rawPerSecond, unit: 'events/s', seconds: r.rawSeconds })),
      { series: 'relay (store → JetStream)', size: published, throughput: largest.relayPerSecond, unit: 'events/s', seconds: largest.relaySeconds },
      ...processRuns.map((r) => ({ series: `${PROJECTIONS_FOR_PROCESSES} projections, all events applied`, size: r.processes, throughput: r.eventsPerSecond, unit: 'events/s', axis: 'processes' as const, seconds: r.seconds })),
    ];
    const figures: Figure[] = [
      { name: `projection catch-up, ${formatInteger(largest.events)} events`, value: largest.oursPerSecond, unit: 'events/s', baseline: { name: 'raw JetStream → PG loop', value: largest.rawPerSecond }, ratio: largest.ratio, target: `≥ ${TARGET_RATIO * 100}% of raw`, met: largest.ratio >= TARGET_RATIO },
      { name: `relay publish, ${formatInteger(published)} events`, value: largest.relayPerSecond, unit: 'events/s' },
      ...processRuns.map((r) => ({ name: `${PROJECTIONS_FOR_PROCESSES} projections in ${r.processes} process(es), ${formatInteger(processEvents)} events each`, value: r.eventsPerSecond, unit: 'events/s', baseline: { name: '1 process', value: processRuns[0]!.eventsPerSecond }, ratio: round(r.eventsPerSecond / processRuns[0]!.eventsPerSecond, 3) })),
    ];
    return {
      body: { batchSize: BATCH, published, runs, processes: { events: processEvents, projections: PROJECTIONS_FOR_PROCESSES, runs: processRuns } },
      figures,
      scaling,
      table: {
        headers: ['workload', 'events', 'seconds', 'events/s', 'vs raw'],
        rows: [
          ['relay publish', formatInteger(published), largest.relaySeconds.toFixed(2), formatInteger(largest.relayPerSecond), ''],
          ...runs.flatMap((r) => [
            ['ours (ProjectionRunner)', formatInteger(r.events), r.oursSeconds.toFixed(2), formatInteger(r.oursPerSecond), formatPercent(r.ratio)],
            ['raw JetStream → PG', formatInteger(r.events), r.rawSeconds.toFixed(2), formatInteger(r.rawPerSecond), '100.0%'],
          ]),
          ...processRuns.map((r) => [`${PROJECTIONS_FOR_PROCESSES} projections, ${r.processes} process(es)`, formatInteger(PROJECTIONS_FOR_PROCESSES * processEvents), r.seconds.toFixed(2), formatInteger(r.eventsPerSecond), '']),
        ],
      },
      targets: runs.map((r) => ({ description: `catch-up ≥ ${TARGET_RATIO * 100}% of the raw loop at ${formatInteger(r.events)} events (${formatPercent(r.ratio)})`, met: r.ratio >= TARGET_RATIO })),
      notes: [`batch size ${BATCH} for both; the processes share 2 cores with PostgreSQL and NATS, so more than 2 cannot scale linearly`],
    };
  },
};
