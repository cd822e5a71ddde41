/**
 * `node --import tsx bench/tools/commandPath.ts [rate=300] [seconds=6]`
 *
 * Where a command's time and CPU go on the way to the read model: CreateContact commands through the command
 * catalog at a fixed rate into the graphql benchmark's pipeline (store with group commit, relay, JetStream,
 * contacts runner, one process), then per stage percentiles (command done, published by the relay, in the read
 * model) and CPU per command: this process (commands, relay, runner, load) and the database's PostgreSQL
 * backends (utime+stime from /proc, so PostgreSQL must run on this machine). Also the runner's batches.
 * With `GROUP_COMMIT=off` the store is used without group commit, for a comparison in the same conditions.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { dispatchCommand } from '../../src/api/commands/catalog.js';
import { contactsCommands } from '../../src/api/commands/contacts.js';
import { createWorkspace } from '../../src/api/iam/workspaces.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { silentLogger } from '../../src/infra/logger.js';
import { contactsProjections } from '../../src/projections/contacts/index.js';
import type { Projection } from '../../src/projections/runner/projectionRunner.js';
import { latencyPercentiles } from '../support/measure.js';
import { ADMIN_URL, BenchDatabases } from '../support/database.js';
import { startBenchPipeline } from '../support/pipeline.js';

const rate = Number(process.argv[2] ?? 300);
const seconds = Number(process.argv[3] ?? 6);
if (!(rate > 0) || !(seconds > 0)) throw new Error('usage: commandPath.ts [rate > 0] [seconds > 0]');

const published = new Map<bigint, number>();
const batches = { count: 0, events: 0, applyMs: 0 };
const contacts = contactsProjections[0]!;
// The contacts projection, timed: how many batches, how large, how long its own statements take.
const timed: Projection = {
  ...contacts,
  applyMany: async (trx, events) => {
    const started = performance.now();
    try {
      await contacts.applyMany!(trx, events);
    } finally {
      batches.count++;
      batches.events += events.length;
      batches.applyMs += performance.now() - started;
    }
  },
};

const databases = new BenchDatabases();
const context = { quick: true, large: false, createDatabase: (label: string) => databases.create(label), progress: () => {} };
const pipeline = await startBenchPipeline(context, {
  database: 'command_path',
  projection: timed,
  poolMax: 30,
  relayCheckpointEveryMs: 100,
  groupCommit: process.env.GROUP_COMMIT !== 'off',
  afterPublish: (event: RecordedEvent) => void published.set(event.position, performance.now()),
});
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
const databaseName = (await pipeline.pool.query<{ name: string }>('SELECT current_database() AS name')).rows[0]!.name;

/** CPU ticks (1/100 s) of each backend serving this database. */
async function backendTicks(): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [databaseName]);
  return new Map(rows.map((r) => [r.pid, ticks(r.pid)]));
}
function ticks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0; // the backend ended meanwhile
  }
}

const workspace = await createWorkspace(pipeline.db, { name: 'probe', createdBy: 'probe' });
const principal = { workspaceId: workspace.id, apiKeyId: 'probe', role: 'service' as const, actor: 'apikey:probe' };
const create = contactsCommands.find((c) => c.name === 'CreateContact')!;
const deps = { eventStore: pipeline.store, db: pipeline.db, logger: silentLogger, now: () => new Date() };
let emails = 0;

async function runAt(perSecond: number, forSeconds: number) {
  const records: { position: bigint; start: number; done: number; projected?: number }[] = [];
  const watch = setInterval(() => {
    const checkpoint = pipeline.runner.status.checkpoint ?? 0n;
    const now = performance.now();
    for (const r of records) if (r.projected === undefined && r.position <= checkpoint) r.projected = now;
  }, 1);
  const began = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < perSecond * forSeconds; i++) {
    const wait = began + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    const input = { email: `probe${emails++}@example.com`, attributes: { plan: { type: 'string', value: 'pro' } } };
    inFlight.push(dispatchCommand(deps, create, input, { principal, correlationId: randomUUID() }).then((o) => void records.push({ position: o.position!, start, done: performance.now() })));
  }
  await Promise.all(inFlight);
  while (records.some((r) => r.projected === undefined)) await new Promise((r) => setTimeout(r, 5));
  clearInterval(watch);
  return records;
}

try {
  await runAt(100, 1); // warm-up: JIT, connections, the workspace's attribute schema in the read model
  Object.assign(batches, { count: 0, events: 0, applyMs: 0 });
  const before = await backendTicks();
  const cpu = process.cpuUsage();
  const records = await runAt(rate, seconds);
  const nodeMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu));
  let postgresTicks = 0;
  for (const [pid, t] of await backendTicks()) postgresTicks += t - (before.get(pid) ?? 0);
  const stage = (pick: (r: (typeof records)[number]) => number) => latencyPercentiles(records.map(pick));
  console.log(
    JSON.stringify(
      {
        rate,
        seconds,
        groupCommit: process.env.GROUP_COMMIT !== 'off',
        commandMs: stage((r) => r.done - r.start),
        publishedMs: stage((r) => published.get(r.position)! - r.start),
        readModelMs: stage((r) => r.projected! - r.start),
        nodeCpuMsPerCommand: +(nodeMs / records.length).toFixed(3),
        postgresCpuMsPerCommand: +((postgresTicks * 10) / records.length).toFixed(3),
        projectorBatches: { count: batches.count, eventsPerBatch: +(batches.events / batches.count).toFixed(1), applyManyMsPerBatch: +(batches.applyMs / batches.count).toFixed(1) },
      },
      null,
      2,
    ),
  );
} finally {
  await admin.end();
  await pipeline.close();
  await databases.dropAll();
}
