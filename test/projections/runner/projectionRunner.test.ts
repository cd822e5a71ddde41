import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSubject, toWire } from '../../../src/eventstore/envelope.js';
import type { EventStore, RecordedEvent } from '../../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { ensureEventStream, eventStreamName } from '../../../src/infra/jetstream.js';
import { createLogger, silentLogger } from '../../../src/infra/logger.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { ProjectionRunner, type Projection } from '../../../src/projections/runner/projectionRunner.js';
import { listParkedEvents, readProjectionCheckpoint, waitForProjection } from '../../../src/projections/runner/queries.js';
import { uniquePrefix, useNats } from '../../support/nats.js';
import { useTestDatabase } from '../../support/postgres.js';
import { newEvent } from '../../eventstore/contract.js';

let pool: pg.Pool;
let db: Kysely<Database>;
let store: EventStore;
let nats: NatsConnection;

beforeAll(async () => {
  const database = await useTestDatabase('projector');
  pool = createPool({ connectionString: database.url, max: 10 });
  await migrateEventStore(pool);
  db = createKysely<Database>(pool);
  await migrateReadModels(db);
  store = createPostgresEventStore({ pool, idlePollMs: 50 });
  nats = await useNats('tproj');
});
afterAll(async () => {
  await store.close();
  await pool.end();
});

/** A projection that counts how often each event was applied and in which order. */
async function countingProjection(name: string, poisonType?: string): Promise<Projection> {
  await sql`CREATE TABLE ${sql.table(name)} (event_id uuid PRIMARY KEY, stream_id text NOT NULL, revision int NOT NULL, applied_order serial, times int NOT NULL DEFAULT 1)`.execute(db);
  return {
    name,
    tables: [name],
    async apply(trx, event) {
      if (event.type === poisonType) throw new Error(`cannot project ${event.type}: field "total" is missing`);
      await sql`INSERT INTO ${sql.table(name)} (event_id, stream_id, revision) VALUES (${event.id}, ${event.streamId}, ${event.revision})
                ON CONFLICT (event_id) DO UPDATE SET times = ${sql.table(name)}.times + 1`.execute(trx);
    },
  };
}

async function applied(name: string) {
  const { rows } = await sql<{ event_id: string; stream_id: string; revision: number; times: number }>`SELECT event_id, stream_id, revision, times FROM ${sql.table(name)} ORDER BY applied_order`.execute(db);
  return rows;
}

function runnerFor(projection: Projection, prefix: string) {
  return new ProjectionRunner({ projection, db, pool, nats, prefix, store, logger: createLogger({ level: process.env.TEST_LOG ?? 'silent' }), batchSize: 50, standbyRetryMs: 50 });
}

async function appendStreams(count: number, perStream: number, category = 'contact'): Promise<string[]> {
  const streams = Array.from({ length: count }, () => `${category}-${randomUUID()}`);
  for (let i = 0; i < perStream; i++) {
    await Promise.all(streams.map((s) => store.append(s, [newEvent('Changed', { i })], { expectedRevision: i === 0 ? 'no_stream' : i - 1 })));
  }
  return streams;
}

describe('projection runner', () => {
  it('applies every relayed event exactly once, in per-stream order, and a redelivery of everything changes nothing', async () => {
    const prefix = uniquePrefix('proj');
    const projection = await countingProjection('p_exactly_once');
    const relay = new Relay({ store, db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
    relay.start();
    const runner = runnerFor(projection, prefix);
    runner.start();
    const streams = await appendStreams(10, 15);
    const head = (await store.headPosition())!;
    expect(await waitForProjection(db, projection.name, head, 15_000)).toBe(true);

    // Replay the whole JetStream stream into the same projection: a fresh consumer redelivers everything.
    await runner.stop();
    await (await jetstreamManager(nats)).consumers.delete(eventStreamName(prefix), runner.consumerName);
    const again = runnerFor(projection, prefix);
    again.start();
    const jsm = await jetstreamManager(nats);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await jsm.consumers.info(eventStreamName(prefix), again.consumerName).catch(() => null);
      if (info !== null && info.delivered.stream_seq >= Number(head) && info.num_pending === 0 && info.num_ack_pending === 0) break;
      if (Date.now() > deadline) throw new Error('the fresh consumer did not redeliver the stream');
      await new Promise((r) => setTimeout(r, 50));
    }
    await again.stop();
    await relay.stop();

    const rows = await applied(projection.name);
    expect(rows.every((r) => r.times === 1)).toBe(true);
    for (const streamId of streams) {
      expect(rows.filter((r) => r.stream_id === streamId).map((r) => r.revision)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    }
    expect(await readProjectionCheckpoint(db, projection.name)).toBe(head);
  });

  it('parks a poison event with its error and keeps going', async () => {
    const prefix = uniquePrefix('proj');
    const projection = await countingProjection('p_poison', 'Broken');
    const relay = new Relay({ store, db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
    relay.start();
    const runner = runnerFor(projection, prefix);
    runner.start();
    const streamId = `order-${randomUUID()}`;
    await store.append(streamId, [newEvent('Fine'), newEvent('Broken', { id: 7 }), newEvent('FineAgain')], { expectedRevision: 'no_stream' });
    const head = (await store.headPosition())!;
    expect(await waitForProjection(db, projection.name, head, 15_000)).toBe(true);
    await runner.stop();
    await relay.stop();

    const mine = (await applied(projection.name)).filter((r) => r.stream_id === streamId);
    expect(mine.map((r) => r.revision)).toEqual([0, 2]);
    const parked = await listParkedEvents(db, { projection: projection.name });
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ stream_id: streamId, event_type: 'Broken', error: 'cannot project Broken: field "total" is missing' });
    expect((parked[0]!.envelope as { data: unknown }).data).toEqual({ id: 7 });
  });

  it('notices a gap in the published log and reads the missing events from the store', async () => {
    const prefix = uniquePrefix('proj');
    const projection = await countingProjection('p_gap');
    await ensureEventStream(nats, prefix);
    const before = await store.headPosition();
    const streams = await appendStreams(3, 4, 'campaign');
    const events: RecordedEvent[] = [...(await store.readAll({ after: before, maxCount: 100 }))];
    const last = events[events.length - 1]!;
    // Only the newest event reaches JetStream (as if the others were lost): its header names its predecessor.
    const headers = natsHeaders();
    headers.set('Mkt-Position', String(last.position));
    headers.set('Mkt-Previous-Position', String(events[events.length - 2]!.position));
    await jetstream(nats).publish(eventSubject(prefix, last), JSON.stringify(toWire(last)), { msgID: last.id, headers });
    // The projection starts from `before` (as if it had applied everything up to there).
    await db.insertInto('projection_checkpoints').values({ projection: projection.name, position: String(before ?? 0n) }).execute();

    const runner = runnerFor(projection, prefix);
    runner.start();
    expect(await waitForProjection(db, projection.name, last.position, 10_000)).toBe(true);
    await runner.stop();
    const rows = await applied(projection.name);
    expect(rows.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
    for (const streamId of streams) expect(rows.filter((r) => r.stream_id === streamId).map((r) => r.revision)).toEqual([0, 1, 2, 3]);
  });

  it('with two runners of one projection, one is active and the other takes over when it stops', async () => {
    const prefix = uniquePrefix('proj');
    const projection = await countingProjection('p_standby');
    const relay = new Relay({ store, db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
    relay.start();
    const first = runnerFor(projection, prefix);
    const second = runnerFor(projection, prefix);
    first.start();
    await appendStreams(2, 3);
    expect(await waitForProjection(db, projection.name, (await store.headPosition())!, 10_000)).toBe(true);
    second.start();
    await new Promise((r) => setTimeout(r, 150));
    expect([first.status.active, second.status.active]).toEqual([true, false]);
    await first.stop();
    await appendStreams(2, 3);
    expect(await waitForProjection(db, projection.name, (await store.headPosition())!, 10_000)).toBe(true);
    expect(second.status.active).toBe(true);
    await second.stop();
    await relay.stop();
    expect((await applied(projection.name)).every((r) => r.times === 1)).toBe(true);
  });

  it('read-your-writes wait gives up after its timeout when the position is not reached', async () => {
    expect(await waitForProjection(db, 'never-ran', 1n, 100)).toBe(false);
  });
});
