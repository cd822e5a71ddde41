import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { EventMetadata, EventStore, NewEvent } from '../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { activityProjection } from '../../src/projections/activity/projection.js';
import { contactsProjection } from '../../src/projections/contacts/index.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { rebuildProjection, type RebuildResult } from '../../src/projections/rebuild/rebuild.js';
import type { Projection } from '../../src/projections/runner/applyBatch.js';
import { copyEvents } from '../support/copy.js';
import { round } from '../support/measure.js';
import type { PlannedEvent } from '../support/payloads.js';
import { formatInteger } from '../support/report.js';
import type { Benchmark, BenchContext, SuiteReport } from '../support/types.js';

/**
 * Rebuild of a read model from position 0 (src/projections/rebuild/): a log of real contact events (each contact
 * created with attributes and tags, then subscribed, tagged, changed, tagged again) seeded with COPY, then
 * `rebuildProjection` of two read models over the same log:
 * - `activity` (one row per event, every event applies): the read model that grows with the log;
 * - `contacts` (the contact list, its consents and attribute schema; its applyMany folds a page's contacts in
 *   memory and writes their final rows, after one SELECT per table).
 * Baseline, same run: reading the same log through the EventStore port (`readAll`, same page size) without
 * applying anything, the floor of any rebuild. Target (issue 7): 1M events in ≤ 60 s. Each workload has its own
 * database and log.
 */

/**
 * contacts runs on a tenth of activity's log, reported per 1M: seeding and rebuilding a second 1M-event log would
 * take the suite past its share of the full bench's time (about 2.5 min; activity alone takes about that).
 */
const SIZES = { full: { activity: 1_000_000, contacts: 100_000 }, quick: { activity: 100_000, contacts: 20_000 } } as const;
const PAGE_SIZE = 5_000;
const TARGET_SECONDS_PER_MILLION = 60;
const EVENTS_PER_CONTACT = 5;
const SEED_CHUNK = 50_000;

function metadata(workspaceId: string, i: number): EventMetadata {
  return { correlationId: randomUUID(), causationId: null, commandId: randomUUID(), actor: `user:${i % 97}@acme.example`, workspaceId, schemaVersion: 1 };
}

/** The `wave`-th event of contact `c` (waves: created, subscribed, tagged, attributes changed, tagged). */
function contactEvent(workspaceId: string, c: number, wave: number, at: string): NewEvent {
  const meta = metadata(workspaceId, c);
  switch (wave) {
    case 0:
      return {
        type: 'ContactCreated',
        data: {
          contactId: contactId(c),
          email: `user${c}@example.com`,
          emailAsGiven: `User${c}@Example.com`,
          externalId: `crm-${c}`,
          phone: null,
          attributes: { plan: { type: 'string', value: ['free', 'pro', 'team'][c % 3] }, score: { type: 'number', value: c % 100 }, country: { type: 'string', value: ['GB', 'DE', 'FR', 'US'][c % 4] } },
          tags: [`cohort-${c % 12}`],
          source: 'import:bench',
          createdAt: at,
        },
        metadata: meta,
      };
    case 1:
      return { type: 'ContactSubscribed', data: { topic: 'newsletter', source: 'form:signup', consentTextVersion: 'v3', at }, metadata: meta };
    case 3:
      return { type: 'ContactAttributesChanged', data: { changes: { score: { type: 'number', value: (c * 7) % 100 } }, changedAt: at }, metadata: meta };
    default:
      return { type: 'ContactTagged', data: { tag: wave === 2 ? 'engaged' : `campaign-${c % 20}`, at }, metadata: meta };
  }
}

const contactId = (c: number) => `00000000-0000-4000-8000-${c.toString(16).padStart(12, '0')}`;

/** `events` contact events, contacts interleaved wave by wave, COPYed into es_events in chunks. */
export async function seedLog(pool: pg.Pool, events: number, progress: (m: string) => void): Promise<void> {
  const workspaceId = randomUUID();
  const contacts = Math.ceil(events / EVENTS_PER_CONTACT);
  const client = await pool.connect();
  try {
    for (let start = 0; start < events; start += SEED_CHUNK) {
      const chunk: PlannedEvent[] = [];
      for (let i = start; i < Math.min(events, start + SEED_CHUNK); i++) {
        const c = i % contacts;
        const wave = Math.floor(i / contacts);
        const at = new Date(1_760_000_000_000 + i * 1_000).toISOString();
        chunk.push({ streamId: `contact-${contactId(c)}`, revision: wave, event: contactEvent(workspaceId, c, wave, at) });
      }
      await copyEvents(client, 'es_events', chunk, start + 1);
      if ((start / SEED_CHUNK) % 4 === 3) progress(`seeded ${formatInteger(start + chunk.length)} events`);
    }
    await client.query('ANALYZE es_events');
  } finally {
    client.release();
  }
}

/** The floor: the same log through readAll, same pages, nothing applied. */
async function readWholeLog(store: EventStore): Promise<{ events: number; seconds: number }> {
  const started = performance.now();
  let after: bigint | null = null;
  let events = 0;
  for (;;) {
    const page = await store.readAll({ after, maxCount: PAGE_SIZE });
    events += page.length;
    if (page.length < PAGE_SIZE) break;
    after = page[page.length - 1]!.position;
  }
  return { events, seconds: (performance.now() - started) / 1_000 };
}

async function rebuild(db: Kysely<Database>, pool: pg.Pool, store: EventStore, projection: Projection, context: BenchContext): Promise<RebuildResult> {
  let lastPhase = '';
  let lastReport = 0;
  return rebuildProjection({
    db,
    pool,
    store,
    projection,
    logger: silentLogger,
    pageSize: PAGE_SIZE,
    onProgress: (p) => {
      const now = performance.now();
      if (p.phase !== lastPhase || now - lastReport > 5_000) {
        context.progress(`${projection.name}: ${p.phase}, ${formatInteger(p.events)} events, ${formatInteger((p.events * 1_000) / Math.max(1, p.elapsedMs))} events/s`);
        lastPhase = p.phase;
        lastReport = now;
      }
    },
  });
}

interface Workload {
  readonly projection: Projection;
  readonly events: number;
  readonly baseline: { readonly events: number; readonly seconds: number };
  readonly result: RebuildResult;
}

/** A fresh database with `events` contact events; the readAll baseline, then the rebuild of `projection`, on the same log. */
async function measure(context: BenchContext, projection: Projection, events: number): Promise<Workload> {
  const database = await context.createDatabase(`rebuild_${projection.name}`);
  const pool = createPool({ connectionString: database.url, max: 8 });
  const db = createKysely<Database>(pool);
  const store = createPostgresEventStore({ pool });
  try {
    await migrateEventStore(pool);
    await migrateReadModels(db);
    context.progress(`${projection.name}: seeding ${formatInteger(events)} contact events with COPY`);
    await seedLog(pool, events, context.progress);
    await readWholeLog(store); // warm-up: the log's pages in shared buffers / the OS cache, as for the rebuild
    context.progress(`${projection.name}: baseline, reading the log through readAll`);
    const baseline = await readWholeLog(store);
    if (baseline.events !== events) throw new Error(`seeded ${events} events, read ${baseline.events}`);
    const result = await rebuild(db, pool, store, projection, context);
    if (result.events !== events) throw new Error(`${projection.name}: rebuilt ${result.events} of ${events} events`);
    if (projection === contactsProjection) {
      const rows = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM contacts`.execute(db)).rows[0]!.n);
      if (rows !== Math.ceil(events / EVENTS_PER_CONTACT)) throw new Error(`contacts: ${rows} rows after the rebuild`);
    }
    return { projection, events, baseline, result };
  } finally {
    await store.close();
    await db.destroy();
  }
}

export const benchmark: Benchmark = {
  name: 'rebuild',
  description: 'Rebuild of a read model from position 0 into fresh tables and switch (activity, contacts) vs reading the log through readAll',
  async run(context): Promise<SuiteReport> {
    const size = context.quick ? SIZES.quick : SIZES.full;
    const workloads = [await measure(context, activityProjection, size.activity), await measure(context, contactsProjection, size.contacts)];
    const rows = workloads.map((w) => {
      const baselineRate = w.events / w.baseline.seconds;
      const perMillion = (w.result.seconds * 1_000_000) / w.events;
      return { ...w, baselineRate, perMillion, met: perMillion <= TARGET_SECONDS_PER_MILLION };
    });
    return {
      body: {
        pageSize: PAGE_SIZE,
        workloads: rows.map((r) => ({
          projection: r.projection.name,
          events: r.events,
          baseline: { readAllSeconds: round(r.baseline.seconds, 3), eventsPerSecond: Math.round(r.baselineRate) },
          rebuild: { seconds: round(r.result.seconds, 3), eventsPerSecond: r.result.eventsPerSecond, switchAttempts: r.result.switchAttempts },
          ratioToReadAll: round(r.result.eventsPerSecond / r.baselineRate, 3),
          secondsPerMillion: round(r.perMillion, 1),
          met: r.met,
        })),
      },
      table: {
        headers: ['workload', 'events', 'readAll s', 'rebuild s', 'events/s', 'vs readAll', 's per 1M', 'target', 'met'],
        rows: rows.map((r) => [
          `rebuild ${r.projection.name}`,
          formatInteger(r.events),
          r.baseline.seconds.toFixed(2),
          r.result.seconds.toFixed(2),
          formatInteger(r.result.eventsPerSecond),
          `${((r.result.eventsPerSecond / r.baselineRate) * 100).toFixed(1)}%`,
          r.perMillion.toFixed(0),
          `≤ ${TARGET_SECONDS_PER_MILLION} s per 1M`,
          r.met ? 'yes' : 'no',
        ]),
      },
      figures: rows.map((r) => ({
        name: `rebuild ${r.projection.name} from position 0 (${formatInteger(r.events)} events)`,
        value: r.result.eventsPerSecond,
        unit: 'events/s',
        baseline: { name: 'reading the same log through readAll', value: Math.round(r.baselineRate), unit: 'events/s' },
        ratio: round(r.result.eventsPerSecond / r.baselineRate, 3),
        target: `1M events in ≤ ${TARGET_SECONDS_PER_MILLION} s (${formatInteger(1_000_000 / TARGET_SECONDS_PER_MILLION)} events/s)`,
        met: r.met,
      })),
      targets: rows.map((r) => ({ description: `rebuild ${r.projection.name}: ≤ ${TARGET_SECONDS_PER_MILLION} s per 1M events (measured on ${formatInteger(r.events)})`, met: r.met })),
    };
  },
};
