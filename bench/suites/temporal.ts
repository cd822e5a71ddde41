import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CampaignEvent } from '../../src/domain/campaigns/events.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { campaignKind } from '../../src/replay/kinds.js';
import { DEFAULT_SNAPSHOT_EVERY, foldAsOf, type TemporalDeps } from '../../src/replay/temporal.js';
import { latencyPercentiles, round } from '../support/measure.js';
import { formatInteger, formatMs } from '../support/report.js';
import type { Benchmark, BenchContext, SuiteReport } from '../support/types.js';

/**
 * Temporal queries: the campaign folded as of a random instant of a 10k-event stream (what campaignAsOf does,
 * minus GraphQL), with snapshots (every DEFAULT_SNAPSHOT_EVERY revisions, already written by an earlier fold)
 * against the baseline without snapshots (every fold reads and folds the stream from revision 0), in the same
 * run, on the PostgreSQL event store. The instants are the recordedAt of random events (appends of 100 events,
 * so 100 distinct instants), the same sequence for both.
 */

const SIZES = { full: { events: 10_000, samples: 200 }, quick: { events: 2_000, samples: 50 } } as const;
const TARGET_P99_MS = 50;
const EVENTS_PER_APPEND = 100;

async function seedCampaign(store: EventStore, workspaceId: string, events: number): Promise<string> {
  const campaignId = randomUUID();
  const settings = (name: string) => ({ name, sender: { email: 'news@shop.test', name: 'Shop' }, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic: 'newsletter' });
  const all: CampaignEvent[] = [{ type: 'CampaignCreated', data: { campaignId, ...settings('v0'), createdAt: new Date().toISOString() } }];
  for (let i = 1; i < events; i++) all.push({ type: 'CampaignUpdated', data: { ...settings(`v${i}`), updatedAt: new Date().toISOString() } });
  for (let from = 0; from < all.length; from += EVENTS_PER_APPEND) {
    const metadata = { correlationId: randomUUID(), causationId: null, commandId: randomUUID(), actor: 'bench', workspaceId, schemaVersion: 1 };
    await store.append(`campaign-${campaignId}`, all.slice(from, from + EVENTS_PER_APPEND).map((e) => ({ type: e.type, data: e.data, metadata })), { expectedRevision: from === 0 ? 'no_stream' : from - 1 });
  }
  return campaignId;
}

async function measure(deps: TemporalDeps, campaignId: string, workspaceId: string, instants: readonly Date[], expected: readonly string[]) {
  const samples: number[] = [];
  for (const [i, asOf] of instants.entries()) {
    const started = performance.now();
    const fold = await foldAsOf(deps, campaignKind, campaignId, workspaceId, { asOf });
    samples.push(performance.now() - started);
    const name = fold.status === 'found' && fold.state.status !== 'none' ? fold.state.settings.name : fold.status;
    if (name !== expected[i]) throw new Error(`fold as of ${asOf.toISOString()} gave ${name}, expected ${expected[i]}`);
  }
  return latencyPercentiles(samples);
}

async function run(context: BenchContext, size: { events: number; samples: number }) {
  const database = await context.createDatabase('temporal');
  const pool = createPool({ connectionString: database.url, max: 4 });
  const db = createKysely<Database>(pool);
  const store = createPostgresEventStore({ pool });
  try {
    await migrateReadModels(db);
    await migrateEventStore(pool);
    const workspaceId = randomUUID();
    context.progress(`appending a campaign stream of ${formatInteger(size.events)} events`);
    const campaignId = await seedCampaign(store, workspaceId, size.events);
    const read = await store.readStream(`campaign-${campaignId}`);
    const events: readonly RecordedEvent[] = read.status === 'found' ? read.events : [];
    // The last event recorded at each chosen instant is what the fold must end on.
    const lastAt = new Map(events.map((e) => [e.recordedAt.getTime(), `v${e.revision}`]));
    const instants = Array.from({ length: size.samples }, () => events[Math.floor(Math.random() * events.length)]!.recordedAt);
    const expected = instants.map((at) => lastAt.get(at.getTime())!);

    const withSnapshots: TemporalDeps = { eventStore: store, db };
    context.progress('first fold to the head (writes the snapshots)');
    const firstStarted = performance.now();
    await foldAsOf(withSnapshots, campaignKind, campaignId, workspaceId, { asOf: events.at(-1)!.recordedAt });
    const firstFoldMs = performance.now() - firstStarted;
    const snapshots = await db.selectFrom('temporal_snapshots').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();

    context.progress(`baseline: ${size.samples} folds from revision 0`);
    const baseline = await measure({ eventStore: store, db, snapshotEvery: false }, campaignId, workspaceId, instants, expected);
    context.progress(`${size.samples} folds from the nearest snapshot`);
    const snapshotted = await measure(withSnapshots, campaignId, workspaceId, instants, expected);
    return { events: size.events, samples: size.samples, snapshotEvery: DEFAULT_SNAPSHOT_EVERY, snapshots: Number(snapshots.n), firstFoldMs: round(firstFoldMs, 2), baseline, snapshotted };
  } finally {
    await store.close();
    await db.destroy();
  }
}

export const benchmark: Benchmark = {
  name: 'temporal',
  description: 'campaign(asOf) on a long stream: fold from the nearest snapshot vs from revision 0',
  async run(context): Promise<SuiteReport> {
    const size = context.quick ? SIZES.quick : SIZES.full;
    const r = await run(context, size);
    const met = r.snapshotted.p99 <= TARGET_P99_MS;
    const speedup = r.baseline.p50 / r.snapshotted.p50;
    const latency = (l: { p50: number; p95: number; p99: number }) => `p50 ${formatMs(l.p50)} / p95 ${formatMs(l.p95)} / p99 ${formatMs(l.p99)} ms`;
    return {
      body: { ...r, speedupP50: round(speedup, 1) },
      table: {
        headers: ['workload', 'size', 'result', 'baseline', 'ratio', 'target', 'met'],
        rows: [
          [`campaign as of a random instant, snapshots every ${r.snapshotEvery}`, `${formatInteger(r.events)} events`, latency(r.snapshotted), `${latency(r.baseline)} without snapshots`, `${speedup.toFixed(1)}× faster (p50)`, `p99 ≤ ${TARGET_P99_MS} ms`, met ? 'yes' : 'no'],
          ['first fold to the head (writes snapshots)', `${r.snapshots} snapshots`, `${formatMs(r.firstFoldMs)} ms`, '', '', '', ''],
        ],
      },
      figures: [
        {
          name: `campaign(asOf) on a ${formatInteger(r.events)}-event stream, p99`,
          value: r.snapshotted.p99,
          unit: 'ms (p99)',
          baseline: { name: 'the same fold without snapshots', value: r.baseline.p99, unit: 'ms (p99)' },
          ratio: round(r.snapshotted.p99 / r.baseline.p99, 3),
          target: `≤ ${TARGET_P99_MS} ms`,
          met,
        },
      ],
      targets: [{ description: `campaign(asOf) on a ${formatInteger(r.events)}-event stream p99 ≤ ${TARGET_P99_MS} ms (snapshots)`, met }],
      notes: [`Snapshots every ${r.snapshotEvery} revisions; PostgreSQL event store without the privacy wrapper (campaign events carry no personal data).`],
    };
  },
};
