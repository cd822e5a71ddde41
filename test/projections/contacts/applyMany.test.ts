/**
 * The contacts projection's set-based applyMany leaves exactly the tables that `apply`, event by event, leaves:
 * on a mixed log of every contact event type (erasures read through the protected store, merges, v1 unsubscribes,
 * poison events), in batches of 1, 7 and 500 through the runner's own batch code (applyBatch), and again when
 * already-applied events are replayed over the result (every write is guarded by position).
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { contactsProjection } from '../../../src/projections/contacts/index.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import type { Projection } from '../../../src/projections/runner/applyBatch.js';
import { countingApplyMany, freshReadDatabases, projectInBatches, projectionRows } from '../../support/applyManyEquality.js';
import { ContactKeyStore } from '../../../src/privacy/keyStore.js';
import { protectEventStore } from '../../../src/privacy/protectedStore.js';
import { useTestDatabase } from '../../support/postgres.js';
import { readWholeLog } from '../../support/rebuildCompare.js';
import { appendMixedLog, type MixedLog } from './mixedLog.js';

const { applyMany, ...eventByEvent } = contactsProjection;
if (applyMany === undefined) throw new Error('contactsProjection has no applyMany');

let store: EventStore;
let log: MixedLog;
let events: RecordedEvent[];
const fresh = freshReadDatabases('contacts_applymany_t');
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const database = await useTestDatabase('contacts_applymany');
  const pool = createPool({ connectionString: database.url, max: 4 });
  const db = createKysely<Database>(pool);
  await migrateEventStore(pool);
  await migrateReadModels(db);
  store = protectEventStore(createPostgresEventStore({ pool }), new ContactKeyStore(db));
  closers.push(() => store.close(), () => db.destroy());
  log = await appendMixedLog(store, db, new ContactKeyStore(db), { contacts: 80, steps: 1_200, seed: 20261125 });
  events = await readWholeLog(store);
}, 120_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** A fresh migrated read database. */
const target = async (): Promise<Kysely<Database>> => (await fresh()).db;

const project = (db: Kysely<Database>, projection: Projection, size: number) => projectInBatches(db, store, projection, size, events);
const snapshot = (db: Kysely<Database>) => projectionRows(db, contactsProjection);
const counted = () => countingApplyMany(contactsProjection);

describe('contacts applyMany', () => {
  let reference: Kysely<Database>;
  let expected: Record<string, string[]>;

  beforeAll(async () => {
    reference = await target();
    await project(reference, eventByEvent, 50);
    expected = await snapshot(reference);
  }, 180_000);

  it('the log exercises every table and every event type', () => {
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(contactsProjection.eventTypes));
    // Schema-version-1 unsubscribes, upcast on read: the campaign moved out of the source.
    const unsubscribes = events.filter((e) => e.type === 'ContactUnsubscribed').map((e) => e.data as { source: string; campaignId: string | null });
    expect(unsubscribes.some((d) => d.source.startsWith('one-click:') && d.campaignId === d.source.slice('one-click:'.length))).toBe(true);
    expect(events.some((e) => e.metadata.erased === true)).toBe(true);
    expect(log.erased).toBeGreaterThan(5);
    expect(log.merged).toBeGreaterThan(5);
    for (const table of contactsProjection.tables) expect(expected[table]!.length, table).toBeGreaterThan(1);
    expect(expected.parked!.length).toBe(3);
    // Erased contacts are gone, merged ones stay as merged rows.
    expect(expected.contacts!.some((row) => row.includes('"status": "merged"'))).toBe(true);
    expect(expected.contacts!.some((row) => row.includes('@erased.invalid'))).toBe(false);
  });

  for (const size of [1, 7, 500]) {
    it(`batches of ${size} leave the same tables as event by event`, async () => {
      const db = await target();
      const run = counted();
      await project(db, run.projection, size);
      expect(await snapshot(db)).toEqual(expected);
      // Only the batches holding one of the three poison events fall back to apply.
      expect(run.applied).toBeGreaterThan(0);
      expect(run.refused).toBeGreaterThanOrEqual(1);
      expect(run.refused).toBeLessThanOrEqual(3);
    }, 180_000);
  }

  it('replaying applied events over the result does what apply does', async () => {
    const db = await target();
    await project(db, contactsProjection, 500);
    const replayed = events.slice(Math.floor(events.length / 3), Math.floor((events.length * 2) / 3));
    const poison = new Set(JSON.parse(`[${expected.parked!.join(',')}]`).map((p: { event_id: string }) => p.event_id));
    const replay = replayed.filter((e) => !poison.has(e.id));
    await db.transaction().execute((trx) => applyMany(trx, replay));
    await reference.transaction().execute(async (trx) => {
      for (const event of replay) await contactsProjection.apply(trx, event);
    });
    expect(await snapshot(db)).toEqual(await snapshot(reference));
  }, 180_000);
});
