import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { createWorkspace } from '../../src/api/iam/workspaces.js';
import type { CommandContext } from '../../src/domain/shared/decider.js';
import { segmentDecider } from '../../src/domain/segments/decide.js';
import { segmentSchemaVersionOf } from '../../src/domain/segments/events.js';
import { templateDecider } from '../../src/domain/templates/decide.js';
import { templateSchemaVersionOf, templateStreamId } from '../../src/domain/templates/events.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { eventStreamName } from '../../src/infra/jetstream.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { campaignsProjections } from '../../src/projections/campaigns/index.js';
import { contactsProjections } from '../../src/projections/contacts/index.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ProjectionRunner, type Projection } from '../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../src/projections/runner/queries.js';
import { segmentsProjections } from '../../src/projections/segments/index.js';
import { templatesProjections } from '../../src/projections/templates/index.js';
import { loadLaunch, runCampaignCommand } from '../../src/sagas/launch/streams.js';
import { round } from '../support/measure.js';
import { formatInteger } from '../support/report.js';
import { nodeArgsFor } from '../support/childProcess.js';
import type { Benchmark, BenchContext, Figure, ScalingPoint, SuiteReport } from '../support/types.js';

/**
 * Launch: N recipients from the LaunchCampaign command to LaunchCompleted (every row sent, its EmailSent recorded),
 * through the real launch saga (preflight, audience freeze into the ledger, claims, rendering, SMTP, EmailSent
 * events) into a local SMTP sink that runs in a child process and discards what it accepts. Each worker's RSS is
 * sampled during each run; a smaller audience runs first, so the peaks show whether memory grows with the
 * audience. Baseline in the same run, right after the largest launch: raw nodemailer sends (RAW_COUNT) into the
 * same sink with the same pool settings (no ledger, no events).
 *
 * Seeding: the saga reads the audience only from read models (segment_memberships ⋈ contacts ⋈ contact_consents,
 * src/sagas/launch/audience.ts), so contacts, consents and memberships are inserted with SQL; the segment, the
 * template and the campaign go through their deciders (preflight reads the segment's and template's streams).
 */

const SIZES = { full: [10_000, 100_000], quick: [1_000, 3_000], large: [10_000, 100_000, 1_000_000] } as const;
/** Saga worker processes for the scaling runs, at the smaller full size / the larger quick size. */
const WORKER_COUNTS = [2, 4] as const;
/**
 * Raw nodemailer sends (the baseline). It keeps no state per message, so its rate does not depend on the count
 * (979/s for 5k and 949/s for 100k on the same night): 20k of them measure it as well as 100k, in a fifth of the time.
 */
const RAW_COUNT = { full: 20_000, quick: 3_000 } as const;
const BATCH = 250;
const POOL = 10;
const TARGET_RATE = 2_000;
const TARGET_RSS_MB = 256;
const SENDER = { email: 'news@bench.example.com', name: 'Bench' } as const;
const PIPELINE: readonly Projection[] = [...contactsProjections, ...segmentsProjections, ...templatesProjections, ...campaignsProjections];
const HTML = '<p>Hi {{ contact.email }}, have a look at <a href="https://shop.example.com/sale">the sale</a>.</p><a href="{{ unsubscribe_url }}">unsubscribe</a>';

interface Sink {
  readonly url: string;
  accepted(): Promise<number>;
  stop(): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const entry = fileURLToPath(new URL('../../src/sagas/demo/sinkProcess.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, nodeArgsFor(entry), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        resolve(message[key] as T);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code})`)));
    });
  const url = await next<string>('url');
  return {
    url,
    async accepted() {
      const answer = next<number>('accepted');
      child.send('count');
      return answer;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    },
  };
}

class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return round(this.peak / 1024 / 1024, 1);
  }
}

interface LaunchRun {
  readonly recipients: number;
  /** Saga worker processes sharing the launch (the ledger's SKIP LOCKED claims split it). */
  readonly processes: number;
  /** The largest of the workers' own peaks. */
  readonly workerRssPeakMb: readonly number[];
  /** This process: seeding, relay and projections. */
  readonly harnessRssPeakMb: number;
  readonly seedSeconds: number;
  readonly seconds: number;
  readonly emailsPerSecond: number;
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  readonly accepted: number;
}

async function runLaunch(context: BenchContext, sink: Sink, recipients: number, processes = 1): Promise<LaunchRun> {
  const database = await context.createDatabase(`launch_${recipients}`);
  const pool = createPool({ connectionString: database.url, max: 20 });
  const db = createKysely<Database>(pool);
  await migrateReadModels(db);
  await migrateEventStore(pool);
  const store = createPostgresEventStore({ pool });
  const nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  const prefix = `bl${randomBytes(4).toString('hex')}`;
  const pipelinePool = createPool({ connectionString: database.url, max: PIPELINE.length + 3 });
  const relay = new Relay({ store, db, pool: pipelinePool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  const runners = PIPELINE.map((projection) => new ProjectionRunner({ projection, db, pool: pipelinePool, nats, prefix, store, logger: silentLogger, standbyRetryMs: 100 }));
  relay.start();
  for (const runner of runners) runner.start();
  let workers: SagaWorkers | null = null;
  try {
    const seedStarted = performance.now();
    const workspace = await createWorkspace(db, { name: `bench-${recipients}`, createdBy: 'bench' });
    const workspaceId = workspace.id;
    const ctx = (): CommandContext => ({ commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'bench', workspaceId });
    const now = () => new Date().toISOString();
    const segmentId = `seg-bench-${recipients}`;
    await handleCommand(store, segmentDecider, `segment-${segmentId}`, { type: 'DefineSegment', data: { segmentId, name: segmentId, description: null, rules: { tag: 'bench' }, at: now() } }, ctx(), { schemaVersionOf: segmentSchemaVersionOf });
    const templateId = randomUUID();
    await handleCommand(store, templateDecider, templateStreamId(templateId), { type: 'CreateTemplate', data: { templateId, name: 'bench', subject: 'Hello {{ contact.email }}', html: HTML, text: null, at: now() } }, ctx(), { schemaVersionOf: templateSchemaVersionOf });
    const campaignId = randomUUID();
    await runCampaignCommand(store, campaignId, { type: 'CreateCampaign', data: { campaignId, name: 'bench', sender: SENDER, replyTo: null, segmentId, templateId, templateVersion: 1, topic: 'news', at: now() } }, ctx());
    const head = await store.headPosition();
    for (const projection of PIPELINE) if (head !== null && !(await waitForProjection(db, projection.name, head, 30_000))) throw new Error(`${projection.name} did not catch up`);
    await sql`
      INSERT INTO contacts (id, workspace_id, email, email_as_given, attributes, tags, status, suppressed, source, created_at, updated_at, last_position)
      SELECT md5(${workspaceId} || i)::uuid, ${workspaceId}, 'user' || i || '@bench.example.org', 'user' || i || '@bench.example.org',
        jsonb_build_object('first_name', jsonb_build_object('type', 'string', 'value', 'User ' || i)), ARRAY['bench'], 'active', false, 'bench', now(), now(), 0
      FROM generate_series(1, ${recipients}) AS i`.execute(db);
    await sql`
      INSERT INTO contact_consents (workspace_id, contact_id, topic, status, source, consent_text_version, reason, at, changed_at, last_position)
      SELECT workspace_id, id, 'news', 'subscribed', 'bench', 'v1', NULL, now(), now(), 0 FROM contacts WHERE workspace_id = ${workspaceId}`.execute(db);
    await sql`
      INSERT INTO segment_memberships (workspace_id, segment_id, contact_id, since, reason)
      SELECT workspace_id, ${segmentId}, id::text, now(), '{}'::jsonb FROM contacts WHERE workspace_id = ${workspaceId}`.execute(db);
    await sql`ANALYZE contacts, contact_consents, segment_memberships`.execute(db);
    const seedSeconds = round((performance.now() - seedStarted) / 1_000, 2);
    context.progress(`${formatInteger(recipients)} recipients seeded in ${seedSeconds} s; launching`);

    workers = await startWorkers(database.url, prefix, sink.url, processes);
    const acceptedBefore = await sink.accepted();
    const rssBeforeMb = round(process.memoryUsage.rss() / 1024 / 1024, 1);
    const sampler = new RssSampler();
    const started = performance.now();
    await runCampaignCommand(store, campaignId, { type: 'LaunchCampaign', data: { at: now(), by: 'bench', scheduledFor: null } }, ctx());
    // Done when the saga completes the launch (every row settled and its outcome event recorded). Only the launch
    // stream is polled: counting the ledger's settled rows every 100 ms was itself a pass over the campaign's rows
    // (O(N) each, O(N²) per run) competing with the saga for the two cores.
    let lastReport = started;
    // The progress count is a pass over the campaign's rows: every 5 s, or every 50 s at 1M (it competes for the cores).
    const reportEveryMs = Math.max(5_000, recipients / 20);
    for (;;) {
      const launch = await loadLaunch(store, campaignId);
      if (launch.state.status === 'completed') break;
      if (['compensated', 'failed', 'cancelled', 'paused'].includes(launch.state.status)) throw new Error(`the launch is ${launch.state.status}: ${JSON.stringify(launch.state)}`);
      if (performance.now() - lastReport > reportEveryMs) {
        lastReport = performance.now();
        const row = await db.selectFrom('delivery_ledger').select((eb) => eb.fn.countAll<string>().as('n')).where('campaign_id', '=', campaignId).where('status', 'in', ['sent', 'failed']).executeTakeFirstOrThrow();
        context.progress(`  ${formatInteger(Number(row.n))} / ${formatInteger(recipients)} settled after ${round((lastReport - started) / 1_000, 1)} s`);
      }
      // 15 min, or 2 ms per recipient for a larger launch (1M: 33 min).
      const limitMs = Math.max(15 * 60_000, recipients * 2);
      if (performance.now() - started > limitMs) throw new Error(`the launch of ${recipients} recipients did not complete in ${Math.round(limitMs / 60_000)} min`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - started) / 1_000;
    const harnessRssPeakMb = sampler.stop();
    const workerRss = await workers.stop();
    workers = null;
    const rssPeakMb = Math.max(...workerRss);
    const failed = await db.selectFrom('delivery_ledger').select((eb) => eb.fn.countAll<string>().as('n')).where('campaign_id', '=', campaignId).where('status', '<>', 'sent').executeTakeFirstOrThrow();
    if (Number(failed.n) > 0) throw new Error(`${failed.n} ledger rows are not sent`);
    const accepted = (await sink.accepted()) - acceptedBefore;
    if (accepted !== recipients) throw new Error(`the sink accepted ${accepted} messages for ${recipients} recipients`);
    return { recipients, processes, seedSeconds, seconds: round(seconds, 2), emailsPerSecond: Math.round(recipients / seconds), rssBeforeMb, rssPeakMb, workerRssPeakMb: workerRss, harnessRssPeakMb, accepted };
  } finally {
    const steps: [string, () => Promise<unknown>][] = [
      ['saga workers', async () => workers?.stop()],
      ['projection runners', () => Promise.all(runners.map((r) => r.stop()))],
      ['relay', () => relay.stop()],
      ['jetstream stream', () => import('@nats-io/jetstream').then(({ jetstreamManager }) => jetstreamManager(nats)).then((jsm) => jsm.streams.delete(eventStreamName(prefix))).catch(() => {})],
      ['nats', () => nats.close()],
      ['event store', () => store.close()],
      ['pipeline pool', () => pipelinePool.end()],
      ['pool', () => pool.end()],
    ];
    for (const [name, step] of steps) {
      const hung = await Promise.race([step().then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 10_000).unref())]);
      if (hung) context.progress(`stopping the ${name} took over 10 s; moving on`);
    }
  }
}

interface SagaWorkers {
  /** Stops every worker; their RSS peaks. */
  stop(): Promise<number[]>;
}

/** `count` saga worker processes (bench/support/sagaProcess.ts), each started and ready. */
async function startWorkers(databaseUrl: string, prefix: string, smtpUrl: string, count: number): Promise<SagaWorkers> {
  const entry = fileURLToPath(new URL('../support/sagaProcess.ts', import.meta.url));
  const children = await Promise.all(
    Array.from({ length: count }, () => {
      const child = spawn(process.execPath, nodeArgsFor(entry), {
        env: { ...process.env, DATABASE_URL: databaseUrl, NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', NATS_PREFIX: prefix, SMTP_URL: smtpUrl, SMTP_POOL: String(Math.max(1, Math.round(POOL / count))), BATCH: String(BATCH) },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      return new Promise<ChildProcess>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child));
        child.once('exit', (code) => reject(new Error(`saga worker exited (${code}) before it was ready`)));
      });
    }),
  );
  let stopped: Promise<number[]> | null = null;
  return {
    stop: () =>
      (stopped ??= Promise.all(
        children.map(
          (child) =>
            new Promise<number>((resolve) => {
              let rss = Number.NaN;
              child.removeAllListeners('exit');
              if (child.exitCode !== null || child.signalCode !== null) return resolve(rss);
              child.on('message', (message: { rssPeakMb?: number }) => (rss = message.rssPeakMb ?? rss));
              child.once('exit', () => resolve(rss));
              child.send('stop');
            }),
        ),
      )),
  };
}

/** Raw nodemailer into the same sink, same pool, POOL sends in flight: the ceiling without ledger and events. */
async function rawNodemailer(sink: Sink, count: number): Promise<{ seconds: number; emailsPerSecond: number }> {
  const transport = nodemailer.createTransport({ pool: true, url: sink.url, maxConnections: POOL, maxRequeues: 0 });
  const before = await sink.accepted();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: POOL }, async () => {
      while (next < count) {
        const i = next++;
        const to = `user${i}@bench.example.org`;
        await transport.sendMail({
          from: { address: SENDER.email, name: SENDER.name },
          to,
          subject: `Hello ${to}`,
          html: HTML.replace('{{ contact.email }}', to).replace('{{ unsubscribe_url }}', 'https://t.example.com/t/u/x'),
          text: `Hi ${to}`,
          messageId: `<raw.${i}@bench.example.com>`,
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  transport.close();
  const accepted = (await sink.accepted()) - before;
  if (accepted !== count) throw new Error(`raw nodemailer: the sink accepted ${accepted} of ${count}`);
  return { seconds: round(seconds, 2), emailsPerSecond: Math.round(count / seconds) };
}

export const benchmark: Benchmark = {
  name: 'launch',
  description: 'launch saga end to end into a local SMTP sink: emails/s and worker RSS vs audience size and worker processes, raw nodemailer baseline',
  large: true,
  async run(context): Promise<SuiteReport> {
    const sizes = context.quick ? SIZES.quick : context.large ? SIZES.large : SIZES.full;
    const sink = await startSink();
    try {
      const runs: LaunchRun[] = [];
      for (const size of sizes) {
        const run = await runLaunch(context, sink, size);
        context.progress(`${formatInteger(size)}: ${run.emailsPerSecond} emails/s, worker peak RSS ${run.rssPeakMb} MB`);
        runs.push(run);
      }
      const largest = runs[runs.length - 1]!;
      const smallest = runs[0]!;
      // Right after the largest launch, so that both see the same load on the shared machine.
      const rawCount = context.quick ? RAW_COUNT.quick : RAW_COUNT.full;
      context.progress(`raw nodemailer: ${formatInteger(rawCount)} sends`);
      const raw = await rawNodemailer(sink, rawCount);
      // Enough rows that 4 workers each get several batches: the larger quick size, the smaller full size.
      const base = context.quick ? largest : smallest;
      const processRuns: LaunchRun[] = [base];
      // The worker counts are the full run's (their size does not change with --large).
      for (const processes of context.large ? [] : WORKER_COUNTS) {
        const run = await runLaunch(context, sink, base.recipients, processes);
        context.progress(`${formatInteger(base.recipients)} with ${processes} workers: ${run.emailsPerSecond} emails/s`);
        processRuns.push(run);
      }
      const ratio = round(largest.emailsPerSecond / raw.emailsPerSecond, 3);
      const growthMb = round(largest.rssPeakMb - smallest.rssPeakMb, 1);
      const notGrowing = growthMb <= Math.max(32, smallest.rssPeakMb * 0.15);
      const rateMet = largest.emailsPerSecond >= TARGET_RATE;
      const rssMet = runs.every((r) => r.rssPeakMb <= TARGET_RSS_MB);
      const figures: Figure[] = [
        { name: `launch, ${formatInteger(largest.recipients)} recipients, 1 worker`, value: largest.emailsPerSecond, unit: 'emails/s', baseline: { name: `raw nodemailer (${formatInteger(rawCount)} sends), same sink and pool`, value: raw.emailsPerSecond }, ratio, target: `≥ ${formatInteger(TARGET_RATE)} emails/s`, met: rateMet },
        { name: 'saga worker peak RSS', value: Math.max(...runs.map((r) => r.rssPeakMb)), unit: 'MB', target: `≤ ${TARGET_RSS_MB} MB, not growing with the audience (${growthMb >= 0 ? '+' : ''}${growthMb} MB from ${formatInteger(smallest.recipients)})`, met: rssMet && notGrowing },
        ...processRuns.slice(1).map((r) => ({ name: `launch, ${formatInteger(r.recipients)} recipients, ${r.processes} workers`, value: r.emailsPerSecond, unit: 'emails/s', baseline: { name: '1 worker', value: base.emailsPerSecond }, ratio: round(r.emailsPerSecond / base.emailsPerSecond, 3) })),
      ];
      const scaling: ScalingPoint[] = [
        ...runs.map((r) => ({ series: 'launch saga, 1 worker', size: r.recipients, throughput: r.emailsPerSecond, unit: 'emails/s', seconds: r.seconds })),
        { series: 'raw nodemailer (ceiling)', size: rawCount, throughput: raw.emailsPerSecond, unit: 'emails/s', seconds: raw.seconds },
        // Only with the worker-count runs (not in --large): one point would be a panel of its own.
        ...(processRuns.length > 1 ? processRuns.map((r) => ({ series: `launch saga, ${formatInteger(r.recipients)} recipients`, size: r.processes, throughput: r.emailsPerSecond, unit: 'emails/s', axis: 'processes' as const, seconds: r.seconds })) : []),
      ];
      return {
        body: { pool: POOL, batch: BATCH, runs, processRuns: processRuns.slice(1), raw: { count: rawCount, ...raw }, ratio, rssGrowthMb: growthMb },
        figures,
        scaling,
        table: {
          headers: ['run', 'recipients', 'workers', 'seconds', 'emails/s', 'worker RSS peak (MB)', 'harness RSS peak (MB)'],
          rows: [
            ...[...runs, ...processRuns.slice(1)].map((r) => ['launch saga', formatInteger(r.recipients), String(r.processes), String(r.seconds), formatInteger(r.emailsPerSecond), r.workerRssPeakMb.join(' / '), String(r.harnessRssPeakMb)]),
            ['raw nodemailer', formatInteger(rawCount), '', String(raw.seconds), formatInteger(raw.emailsPerSecond), '', ''],
          ],
        },
        notes: [
          `saga / raw nodemailer = ${ratio} (pool of ${POOL} SMTP connections shared by the workers; batch ${BATCH}, rate limit off)`,
          `worker peak RSS grows ${growthMb} MB from ${formatInteger(smallest.recipients)} to ${formatInteger(largest.recipients)} recipients`,
        ],
        targets: [
          { description: `≥ ${formatInteger(TARGET_RATE)} emails/s at ${formatInteger(largest.recipients)} recipients (${formatInteger(largest.emailsPerSecond)}; raw nodemailer ${formatInteger(raw.emailsPerSecond)})`, met: rateMet },
          { description: `worker peak RSS ≤ ${TARGET_RSS_MB} MB (${Math.max(...runs.map((r) => r.rssPeakMb))} MB)`, met: rssMet },
          { description: `worker peak RSS does not grow with the audience (${growthMb >= 0 ? '+' : ''}${growthMb} MB)`, met: notGrowing },
        ],
      };
    } finally {
      await sink.stop();
    }
  },
};
