import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import Fastify from 'fastify';
import { sql } from 'kysely';
import mercurius from 'mercurius';
import { buildServer } from '../../src/api/server.js';
import { issueApiKey } from '../../src/api/iam/apiKeys.js';
import { createWorkspace } from '../../src/api/iam/workspaces.js';
import { dispatchCommand } from '../../src/api/commands/catalog.js';
import { contactsCommands } from '../../src/api/commands/contacts.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { loadConfig } from '../../src/infra/config.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { contactsProjections } from '../../src/projections/contacts/index.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { readProjectionCheckpoint } from '../../src/projections/runner/queries.js';
import { latencyPercentiles, round } from '../support/measure.js';
import { startBenchPipeline } from '../support/pipeline.js';
import { formatInteger, formatMs } from '../support/report.js';
import type { Benchmark, BenchContext, SuiteReport } from '../support/types.js';

/**
 * (1) The campaign-stats GraphQL query of the real API (auth, correlation, error mapping, request-scoped
 * batching) against a bare mercurius server answering the same query shape from the same table, same process,
 * same client loop, alternating rounds. (2) Command → read model latency: CreateContact commands paced at a
 * fixed rate through the command catalog, each timed until the contacts projection's checkpoint covers it.
 */

const SIZES = { full: { seconds: 5, rounds: 2, rate: 1_000, commandSeconds: 10 }, quick: { seconds: 2, rounds: 1, rate: 500, commandSeconds: 3 } } as const;
const CONCURRENCY = 16;
const STATS_TARGET = 0.7;
const LATENCY_P99_TARGET_MS = 100;
const COUNTERS = 'audienceSize sent delivered opened uniqueOpens clicked uniqueClicks bounced complained unsubscribed failed';

async function load(url: string, headers: Record<string, string>, body: string, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        const json = (await response.json()) as { errors?: unknown };
        if (response.status !== 200 || json.errors !== undefined) throw new Error(`bad answer: ${JSON.stringify(json)}`);
        done++;
      }
    }),
  );
  return done / seconds;
}

async function statsQuery(context: BenchContext, size: (typeof SIZES)['full' | 'quick']) {
  const database = await context.createDatabase('graphql_stats');
  const pool = createPool({ connectionString: database.url, max: 20 });
  const db = createKysely<Database>(pool);
  const nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  await migrateEventStore(pool);
  await migrateReadModels(db);
  const workspace = await createWorkspace(db, { name: 'bench', createdBy: 'bench' });
  const { key } = await issueApiKey(db, { workspaceId: workspace.id, name: 'bench', role: 'auditor', createdBy: 'bench' });
  const campaignId = randomUUID();
  const now = new Date();
  await db.insertInto('campaigns').values({ id: campaignId, workspace_id: workspace.id, name: 'Spring sale', status: 'running', sender_email: null, sender_name: null, reply_to: null, segment_id: null, template_id: null, template_version: null, topic: null, scheduled_at: null, time_zone: null, scheduled_revision: null, variants: null, winner: null, end_reason: null, created_at: now, updated_at: now, launched_at: now, launched_by: null, completed_at: null, revision: 3, last_position: '1' }).execute();
  for (const variant of ['', 'A', 'B']) {
    await sql`INSERT INTO campaign_stats (campaign_id, variant_key, workspace_id, updated_at, audience_size, sent, delivered, opened, unique_opens, clicked, unique_clicks, bounced, complained, unsubscribed, failed)
              VALUES (${campaignId}, ${variant}, ${workspace.id}, now(), 1000, 990, 980, 400, 300, 120, 100, 5, 1, 3, 10)`.execute(db);
  }
  const query = `query($id: ID!) { campaign(id: $id) { id name status stats { ${COUNTERS} variants { key ${COUNTERS} } } } }`;
  const body = JSON.stringify({ query, variables: { id: campaignId } });

  // The limiter stays on (its cost is part of ours), with a limit the load never reaches.
  const ours = await buildServer({ config: loadConfig({ NODE_ENV: 'production', TRACKING_SECRET: 'x'.repeat(40), LOG_LEVEL: 'silent', RATE_LIMIT_API_PER_MINUTE: '1000000' }), db, eventStore: createPostgresEventStore({ pool }), nats, logger: silentLogger });
  await ours.listen({ port: 0, host: '127.0.0.1' });
  const bare = Fastify();
  const camel = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()), v]));
  await bare.register(mercurius, {
    schema: `type Counters { key: String! ${COUNTERS.split(' ').map((f) => `${f}: Int!`).join(' ')} variants: [Counters!]! }
             type Campaign { id: ID! name: String! status: String! stats: Counters! }
             type Query { campaign(id: ID!): Campaign }`,
    resolvers: {
      Query: {
        campaign: async (_: unknown, { id }: { id: string }) => {
          const { rows } = await pool.query('SELECT id, name, status FROM campaigns WHERE id = $1', [id]);
          return rows[0] === undefined ? null : { ...rows[0], status: String(rows[0].status).toUpperCase() };
        },
      },
      Campaign: {
        stats: async (campaign: { id: string }) => {
          const { rows } = await pool.query('SELECT * FROM campaign_stats WHERE campaign_id = $1 ORDER BY variant_key', [campaign.id]);
          const [whole, ...variants] = rows.map((r: Record<string, unknown>) => ({ ...camel(r), key: r.variant_key }));
          return { ...whole, variants: variants.map((v) => ({ ...v, variants: [] })) };
        },
      },
    },
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const urlOf = (app: { server: { address(): unknown } }) => `http://127.0.0.1:${(app.server.address() as { port: number }).port}/graphql`;
  try {
    context.progress('warming up both servers');
    await load(urlOf(ours), { authorization: `Bearer ${key}` }, body, 1);
    await load(urlOf(bare), {}, body, 1);
    const oursRuns: number[] = [];
    const bareRuns: number[] = [];
    for (let round = 0; round < size.rounds; round++) {
      context.progress(`round ${round + 1}: bare mercurius, then the engine's API`);
      bareRuns.push(await load(urlOf(bare), {}, body, size.seconds));
      oursRuns.push(await load(urlOf(ours), { authorization: `Bearer ${key}` }, body, size.seconds));
    }
    const oursBest = Math.max(...oursRuns);
    const bareBest = Math.max(...bareRuns);
    return { ours: oursBest, bare: bareBest, ratio: oursBest / bareBest, oursRuns, bareRuns };
  } finally {
    await ours.close();
    await bare.close();
    await nats.close();
    await db.destroy();
  }
}

async function commandLatency(context: BenchContext, size: (typeof SIZES)['full' | 'quick']) {
  const pipeline = await startBenchPipeline(context, { database: 'graphql_latency', projection: contactsProjections[0]!, poolMax: 30, relayCheckpointEveryMs: 10 });
  const { db, store, runner } = pipeline;
  const workspace = await createWorkspace(db, { name: 'bench', createdBy: 'bench' });
  const principal = { workspaceId: workspace.id, apiKeyId: 'bench', role: 'service' as const, actor: 'apikey:bench' };
  const create = contactsCommands.find((c) => c.name === 'CreateContact')!;
  const deps = { eventStore: store, db, logger: silentLogger, now: () => new Date() };
  const total = size.rate * size.commandSeconds;
  const pending: { position: bigint; start: number }[] = [];
  const samples: number[] = [];
  let stop = false;
  const watcher = (async () => {
    while (!stop || pending.length > 0) {
      const checkpoint = (await readProjectionCheckpoint(db, runner.name)) ?? 0n;
      const now = performance.now();
      while (pending.length > 0 && pending[0]!.position <= checkpoint) samples.push(now - pending.shift()!.start);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  try {
    context.progress(`${formatInteger(total)} CreateContact commands at ${size.rate}/s, each timed until the contacts read model has it`);
    const began = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = began + (i * 1000) / size.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const start = performance.now();
      inFlight.push(
        dispatchCommand(deps, create, { email: `user${i}@example.com`, attributes: { plan: { type: 'string', value: 'pro' } }, tags: ['bench'] }, { principal, correlationId: randomUUID() }).then((outcome) => {
          const entry = { position: outcome.position!, start };
          const at = pending.findIndex((p) => p.position > entry.position);
          pending.splice(at === -1 ? pending.length : at, 0, entry);
        }),
      );
    }
    await Promise.all(inFlight);
    const achievedRate = total / ((performance.now() - began) / 1000);
    stop = true;
    await watcher;
    return { commands: total, targetRate: size.rate, achievedRate, latencyMs: latencyPercentiles(samples) };
  } finally {
    stop = true;
    await pipeline.close();
  }
}

export const benchmark: Benchmark = {
  name: 'graphql',
  description: 'Campaign-stats query vs bare mercurius; command → read model latency at a fixed command rate',
  async run(context): Promise<SuiteReport> {
    const size = context.quick ? SIZES.quick : SIZES.full;
    const stats = await statsQuery(context, size);
    const latency = await commandLatency(context, size);
    const statsMet = stats.ratio >= STATS_TARGET;
    const latencyMet = latency.latencyMs.p99 <= LATENCY_P99_TARGET_MS && latency.achievedRate >= latency.targetRate * 0.95;
    return {
      body: { campaignStats: { ...stats, ratio: round(stats.ratio, 3) }, commandToReadModel: { ...latency, achievedRate: round(latency.achievedRate, 1) } },
      table: {
        headers: ['workload', 'result', 'baseline', 'ratio', 'target', 'met'],
        rows: [
          ['campaign stats query (req/s)', formatInteger(stats.ours), `${formatInteger(stats.bare)} bare mercurius`, `${(stats.ratio * 100).toFixed(1)}%`, `≥ ${STATS_TARGET * 100}%`, statsMet ? 'yes' : 'no'],
          [`command → read model at ${latency.targetRate}/s (achieved ${latency.achievedRate.toFixed(0)}/s)`, `p50 ${formatMs(latency.latencyMs.p50)} / p95 ${formatMs(latency.latencyMs.p95)} / p99 ${formatMs(latency.latencyMs.p99)} ms`, '', '', `p99 ≤ ${LATENCY_P99_TARGET_MS} ms`, latencyMet ? 'yes' : 'no'],
        ],
      },
      figures: [
        { name: 'campaign-stats query', value: Math.round(stats.ours), unit: 'req/s', baseline: { name: 'bare mercurius, same query and tables', value: Math.round(stats.bare) }, ratio: round(stats.ratio, 3), target: `≥ ${STATS_TARGET * 100}% of bare mercurius`, met: statsMet },
        { name: `command → read model p99 at ${latency.targetRate} commands/s (achieved ${Math.round(latency.achievedRate)}/s)`, value: latency.latencyMs.p99, unit: 'ms', target: `≤ ${LATENCY_P99_TARGET_MS} ms`, met: latencyMet },
      ],
      targets: [
        { description: `campaign stats ≥ ${STATS_TARGET * 100}% of bare mercurius`, met: statsMet },
        { description: `command → read model p99 ≤ ${LATENCY_P99_TARGET_MS} ms at ${latency.targetRate}/s`, met: latencyMet },
      ],
    };
  },
};
