/**
 * The campaign stats projection's set-based applyMany leaves exactly the tables that `apply`, event by event,
 * leaves: on a mixed log of launch bursts and everything between them (deliveryLog.ts), in batches of 1, 7 and
 * 500 through the runner's own batch code (applyBatch). Already-applied events are skipped by the checkpoint;
 * and a launch's sends cost a few statements per batch instead of three each.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import { createPool } from '../../../src/infra/postgres.js';
import { campaignStatsProjection } from '../../../src/projections/campaigns/stats.js';
import { WHOLE_CAMPAIGN } from '../../../src/projections/campaigns/tables.js';
import type { Database } from '../../../src/projections/db/schema.js';
import type { Projection } from '../../../src/projections/runner/applyBatch.js';
import { countingApplyMany, freshReadDatabases, projectInBatches, projectionRows } from '../../support/applyManyEquality.js';
import { useTestDatabase } from '../../support/postgres.js';
import { readWholeLog } from '../../support/rebuildCompare.js';
import { appendDeliveryLog, type DeliveryLog } from './deliveryLog.js';

const { applyMany, ...eventByEvent } = campaignStatsProjection;
if (applyMany === undefined) throw new Error('campaignStatsProjection has no applyMany');

let store: EventStore;
let log: DeliveryLog;
let events: RecordedEvent[];
const target = freshReadDatabases('stats_applymany_t');
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const database = await useTestDatabase('stats_applymany');
  const pool = createPool({ connectionString: database.url, max: 4 });
  await migrateEventStore(pool);
  store = createPostgresEventStore({ pool });
  closers.push(() => store.close(), () => pool.end());
  log = await appendDeliveryLog(store, { bursts: 60, seed: 20261125 });
  events = await readWholeLog(store);
}, 120_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

const project = (db: Kysely<Database>, projection: Projection, size: number, from: readonly RecordedEvent[] = events) => projectInBatches(db, store, projection, size, from);
const snapshot = (db: Kysely<Database>) => projectionRows(db, campaignStatsProjection);
const counted = () => countingApplyMany(campaignStatsProjection);

const BULK = new Set(['EmailSent', 'EmailDelivered', 'EmailFailed', 'EmailRenderFailed']);

describe('campaign stats applyMany', () => {
  let reference: Awaited<ReturnType<typeof target>>;
  let expected: Record<string, string[]>;

  beforeAll(async () => {
    reference = await target();
    await project(reference.db, eventByEvent, 50);
    expected = await snapshot(reference.db);
  }, 180_000);

  it('the log is mostly launch bursts, and apply counts what it should from it', async () => {
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(campaignStatsProjection.eventTypes));
    const bulk = events.filter((e) => BULK.has(e.type) && typeof (e.data as { variantKey?: unknown }).variantKey === 'string');
    expect(bulk.length).toBeGreaterThan(events.length / 2);
    expect(events.filter((e) => BULK.has(e.type) && !bulk.includes(e)).length).toBeGreaterThan(5);
    expect(expected.parked!.length).toBe(log.poison);
    expect(log.poison).toBe(4);
    expect(expected.campaign_engagement!.length).toBeGreaterThan(100);

    const rows = await reference.db.selectFrom('campaign_stats').selectAll().execute();
    for (const campaignId of log.campaigns) {
      const whole = rows.find((r) => r.campaign_id === campaignId && r.variant_key === WHOLE_CAMPAIGN)!;
      const { sent, delivered, failed } = log.counted.get(campaignId)!;
      expect({ sent: whole.sent, delivered: whole.delivered, failed: whole.failed }, campaignId).toEqual({ sent, delivered, failed });
      expect(sent).toBeGreaterThan(20);
    }
    // Variant rows count too, a replaced definition's variant is gone, and no other campaign got a row.
    expect(rows.filter((r) => r.variant_key === 'A').every((r) => r.sent > 0)).toBe(true);
    expect(rows.filter((r) => r.variant_key === 'B').length).toBe(3);
    expect(new Set(rows.map((r) => r.campaign_id))).toEqual(new Set(log.campaigns));
  });

  for (const size of [1, 7, 500]) {
    it(`batches of ${size} leave the same tables as event by event`, async () => {
      const { db } = await target();
      const run = counted();
      await project(db, run.projection, size);
      expect(await snapshot(db)).toEqual(expected);
      // Only the batches holding a poison event fall back to apply.
      expect(run.applied).toBeGreaterThan(0);
      expect(run.refused).toBeGreaterThanOrEqual(1);
      expect(run.refused).toBeLessThanOrEqual(log.poison);
    }, 180_000);
  }

  it('already-applied events are skipped by the checkpoint: replaying them changes nothing', async () => {
    const { db } = await target();
    const run = counted();
    await project(db, run.projection, 500);
    const before = { applied: run.applied, refused: run.refused };
    const replayed = [
      ...(await project(db, run.projection, 500, events.slice(Math.floor(events.length / 3), Math.floor((events.length * 2) / 3)))),
      ...(await project(db, run.projection, 97)),
    ];
    expect(replayed.flatMap((r) => r.applied)).toEqual([]);
    expect({ applied: run.applied, refused: run.refused }).toEqual(before);
    expect(await snapshot(db)).toEqual(expected);
  }, 180_000);

  it("counts a launch's sends in a few statements per batch, not three each", async () => {
    const poison = new Set(expected.parked!.map((p) => (JSON.parse(p) as { event_id: string }).event_id));
    const clean = events.filter((e) => !poison.has(e.id));
    const [batched, oneByOne] = [await target(), await target()];
    const run = counted();
    await project(batched.db, run.projection, 500, clean);
    await project(oneByOne.db, eventByEvent, 500, clean);
    expect(run.refused).toBe(0);
    const { parked: _b, ...batchedRows } = await snapshot(batched.db);
    const { parked: _o, ...oneByOneRows } = await snapshot(oneByOne.db);
    expect(batchedRows).toEqual(oneByOneRows);
    const bulk = clean.filter((e) => BULK.has(e.type) && typeof (e.data as { variantKey?: unknown }).variantKey === 'string').length;
    // Each bulk event costs apply two or three statements; a run costs applyMany three.
    expect(oneByOne.statements() - batched.statements()).toBeGreaterThan(bulk);
  }, 180_000);
});
