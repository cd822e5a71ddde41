import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { contactDecider } from '../../src/domain/contacts/decide.js';
import { contactIdFor } from '../../src/domain/contacts/identity.js';
import { segmentDecider } from '../../src/domain/segments/decide.js';
import type { Rule } from '../../src/domain/segments/rules.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { waitForProjection } from '../../src/projections/runner/queries.js';
import { evaluateSegmentFully } from '../../src/projections/segments/fullEvaluation.js';
import { segmentsProjections } from '../../src/projections/segments/index.js';
import { latencyPercentiles, round } from '../support/measure.js';
import { startBenchPipeline } from '../support/pipeline.js';
import { formatInteger, formatMs } from '../support/report.js';
import type { Benchmark, BenchContext, SuiteReport } from '../support/types.js';

/**
 * Segments: (1) full evaluation of a segment over N contacts (the set-based statement a rules change runs),
 * against the raw INSERT … SELECT of the same membership rows into a table with the same key, in the same run;
 * (2) incremental membership: a contact command's time until the membership read model shows its effect,
 * through the whole pipeline (store → relay → JetStream → projector), one contact at a time.
 */

const SIZES = { full: { contacts: 1_000_000, changes: 200 }, quick: { contacts: 100_000, changes: 40 } } as const;
const FULL_TARGET_S = 10;
const INCREMENTAL_P99_TARGET_MS = 100;
const HALF: Rule = { all: [{ subscribed: 'newsletter' }, { suppressed: false }] };

async function seedSnapshots(db: Kysely<Database>, workspaceId: string, count: number): Promise<void> {
  // Half subscribed to the newsletter, 4% suppressed, typed attributes and tags like the projector writes them.
  await sql`
    INSERT INTO segment_contact_snapshots (workspace_id, contact_id, email, attributes, tags, subscriptions, suppressed, merged)
    SELECT ${workspaceId}, md5(i::text)::uuid::text, 'user' || i || '@example.com',
           jsonb_build_object('plan', jsonb_build_object('type', 'string', 'value', (ARRAY['free','pro','team'])[1 + i % 3]),
                              'score', jsonb_build_object('type', 'number', 'value', i % 100)),
           ARRAY['t' || (i % 20)],
           CASE WHEN i % 2 = 0 THEN jsonb_build_object('newsletter', jsonb_build_object('status', 'subscribed', 'at', '2026-01-01T00:00:00Z')) ELSE '{}'::jsonb END,
           i % 25 = 0, false
      FROM generate_series(1, ${count}) AS i`.execute(db);
  await sql`ANALYZE segment_contact_snapshots`.execute(db);
}

async function fullEvaluation(context: BenchContext, contacts: number) {
  const database = await context.createDatabase('segments_full');
  const pool = createPool({ connectionString: database.url, max: 4 });
  const db = createKysely<Database>(pool);
  try {
    await migrateReadModels(db);
    const workspaceId = randomUUID();
    context.progress(`seeding ${formatInteger(contacts)} contact snapshots`);
    await seedSnapshots(db, workspaceId, contacts);
    const segmentId = randomUUID();
    const now = new Date();
    await db.insertInto('segments').values({ workspace_id: workspaceId, id: segmentId, name: 'half', description: null, version: 1, rules: JSON.stringify(HALF), status: 'active', depends_on: [], member_count: '0', evaluated_version: null, created_at: now, updated_at: now } as never).execute();

    context.progress('baseline: raw INSERT … SELECT of the same membership rows');
    await sql`CREATE TABLE baseline_memberships (LIKE segment_memberships INCLUDING ALL)`.execute(db);
    const baselineStart = performance.now();
    await sql`
      INSERT INTO baseline_memberships (workspace_id, segment_id, contact_id, since, reason)
      SELECT workspace_id, ${segmentId}, contact_id, now(), '{}'::jsonb FROM segment_contact_snapshots
       WHERE workspace_id = ${workspaceId} AND subscriptions->'newsletter'->>'status' = 'subscribed' AND NOT suppressed
       ORDER BY contact_id`.execute(db);
    const baselineSeconds = (performance.now() - baselineStart) / 1000;

    context.progress('full evaluation of a new segment');
    const reason = { trigger: 'rules' as const, eventType: 'SegmentDefined', position: '1', version: 1 };
    const start = performance.now();
    const result = await evaluateSegmentFully(db, { workspaceId, segmentId, rules: HALF, version: 1, since: now, reason, now } as never);
    const seconds = (performance.now() - start) / 1000;
    context.progress('same evaluation again (no change)');
    const againStart = performance.now();
    await evaluateSegmentFully(db, { workspaceId, segmentId, rules: HALF, version: 1, since: now, reason, now } as never);
    const againSeconds = (performance.now() - againStart) / 1000;
    return { contacts, added: (result as { added: number }).added, seconds, againSeconds, baselineSeconds, ratio: baselineSeconds / seconds };
  } finally {
    await db.destroy();
  }
}

async function incrementalLatency(context: BenchContext, changes: number) {
  const pipeline = await startBenchPipeline(context, { database: 'segments_incremental', projection: segmentsProjections[0]!, poolMax: 10, relayCheckpointEveryMs: 20 });
  const { db, store, runner } = pipeline;
  try {
    const workspaceId = randomUUID();
    const ctx = () => ({ commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'bench', workspaceId });
    const at = () => new Date().toISOString();
    const segmentId = randomUUID();
    const rules: Rule = { attribute: 'score', op: 'gte', value: 50, type: 'number' };
    await handleCommand(store, segmentDecider, `segment-${segmentId}`, { type: 'DefineSegment', data: { segmentId, name: 'high score', description: null, rules, at: at() } }, ctx());
    const contacts = Array.from({ length: 20 }, (_, i) => `bench${i}@example.com`);
    for (const email of contacts) {
      const contactId = contactIdFor(workspaceId, email);
      await handleCommand(store, contactDecider, `contact-${contactId}`, { type: 'CreateContact', data: { contactId, email, externalId: null, phone: null, attributes: { score: { type: 'number', value: 10 } }, tags: [], subscriptions: [], source: 'bench', at: at() } }, ctx());
    }
    await waitForProjection(db, runner.name, (await store.headPosition())!, 30_000);
    context.progress(`measuring ${changes} contact changes, command → membership visible`);
    const samples: number[] = [];
    for (let i = 0; i < changes; i++) {
      const contactId = contactIdFor(workspaceId, contacts[i % contacts.length]!);
      const joining = Math.floor(i / contacts.length) % 2 === 0;
      const start = performance.now();
      await handleCommand(store, contactDecider, `contact-${contactId}`, { type: 'UpdateContactAttributes', data: { changes: { score: { type: 'number', value: joining ? 90 : 10 } }, at: at() } }, ctx());
      for (;;) {
        const row = await db.selectFrom('segment_memberships').select('contact_id').where('workspace_id', '=', workspaceId).where('segment_id', '=', segmentId).where('contact_id', '=', contactId).executeTakeFirst();
        if ((row !== undefined) === joining) break;
        await new Promise((r) => setImmediate(r));
      }
      samples.push(performance.now() - start);
    }
    return latencyPercentiles(samples);
  } finally {
    await pipeline.close();
  }
}

export const benchmark: Benchmark = {
  name: 'segments',
  description: 'Segment full evaluation vs raw INSERT … SELECT; incremental membership latency through the pipeline',
  async run(context): Promise<SuiteReport> {
    const size = context.quick ? SIZES.quick : SIZES.full;
    const full = await fullEvaluation(context, size.contacts);
    const latency = await incrementalLatency(context, size.changes);
    const fullMet = full.seconds <= FULL_TARGET_S * (full.contacts / 1_000_000);
    const incrementalMet = latency.p99 <= INCREMENTAL_P99_TARGET_MS;
    return {
      body: { fullEvaluation: { ...full, seconds: round(full.seconds, 3), againSeconds: round(full.againSeconds, 3), baselineSeconds: round(full.baselineSeconds, 3), ratio: round(full.ratio, 3) }, incremental: { changes: size.changes, latencyMs: latency } },
      table: {
        headers: ['workload', 'size', 'result', 'baseline', 'ratio', 'target', 'met'],
        rows: [
          ['full evaluation (new segment, half match)', formatInteger(full.contacts), `${full.seconds.toFixed(2)} s (+${formatInteger(full.added)})`, `${full.baselineSeconds.toFixed(2)} s raw INSERT…SELECT`, `${(full.ratio * 100).toFixed(0)}%`, `≤ ${FULL_TARGET_S} s per 1M`, fullMet ? 'yes' : 'no'],
          ['full evaluation again (no change)', formatInteger(full.contacts), `${full.againSeconds.toFixed(2)} s`, '', '', '', ''],
          ['incremental: command → membership visible', `${size.changes} changes`, `p50 ${formatMs(latency.p50)} / p95 ${formatMs(latency.p95)} / p99 ${formatMs(latency.p99)} ms`, '', '', `p99 ≤ ${INCREMENTAL_P99_TARGET_MS} ms`, incrementalMet ? 'yes' : 'no'],
        ],
      },
      figures: [
        { name: `full evaluation, ${formatInteger(full.contacts)} contacts`, value: round(full.seconds, 2), unit: 's', baseline: { name: 'raw INSERT … SELECT of the same rows', value: round(full.baselineSeconds, 2) }, ratio: round(full.baselineSeconds / full.seconds, 3), target: `≤ ${FULL_TARGET_S} s per 1M`, met: fullMet },
        { name: 'incremental membership, command → visible, p99', value: latency.p99, unit: 'ms', target: `≤ ${INCREMENTAL_P99_TARGET_MS} ms`, met: incrementalMet },
      ],
      targets: [
        { description: `full evaluation ≤ ${FULL_TARGET_S} s per 1M contacts`, met: fullMet },
        { description: `incremental membership p99 ≤ ${INCREMENTAL_P99_TARGET_MS} ms`, met: incrementalMet },
      ],
    };
  },
};
