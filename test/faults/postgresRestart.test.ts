/**
 * PostgreSQL stops and starts again under a running relay and projector (a private embedded server, so the
 * machine's PostgreSQL is untouched): an append while it is down fails with EVENT_STORE_UNAVAILABLE and writes
 * nothing; afterwards appends work again and the pipeline catches up without a manual step.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStoreUnavailableError } from '../../src/eventstore/errors.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/infra/embeddedPostgres.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { activityProjection } from '../../src/projections/activity/projection.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../src/projections/runner/queries.js';
import { newEvent } from '../eventstore/contract.js';
import { freePort } from '../infra/freePort.js';
import { uniquePrefix, useNats } from '../support/nats.js';

let dataDir: string;
let port: number;
let server: EmbeddedPostgres;
let pool: pg.Pool;
let db: Kysely<Database>;
let store: EventStore;

const start = () => startEmbeddedPostgres({ dataDir, port, logger: silentLogger });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pg-restart-'));
  port = await freePort();
  server = await start();
  pool = createPool({ connectionString: server.url, max: 10 });
  db = createKysely<Database>(pool);
  await migrateEventStore(pool);
  await migrateReadModels(db);
  store = createPostgresEventStore({ pool, idlePollMs: 100 });
}, 60_000);
afterAll(async () => {
  await store?.close();
  await pool?.end();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('PostgreSQL restart', () => {
  it('fails appends clearly while down, and everything resumes by itself when it is back', async () => {
    const nats = await useNats('tpgrestart');
    const prefix = uniquePrefix('pgrestart');
    const relay = new Relay({ store, db, pool, nats, prefix, logger: silentLogger, checkpointEveryMs: 20, standbyRetryMs: 100 });
    const runner = new ProjectionRunner({ projection: activityProjection, db, pool, nats, prefix, store, logger: silentLogger, standbyRetryMs: 100 });
    relay.start();
    runner.start();
    const append = (streamId = `note-${randomUUID()}`) => store.append(streamId, [newEvent('Written')], { expectedRevision: 'no_stream' });
    for (let i = 0; i < 10; i++) await append();
    expect(await waitForProjection(db, 'activity', (await store.headPosition())!, 10_000)).toBe(true);

    await server.stop();
    const downStream = `note-${randomUUID()}`;
    await expect(append(downStream)).rejects.toBeInstanceOf(EventStoreUnavailableError);

    server = await start();
    // The pool replaces its dead connections on the next checkout; the first attempt may still hit one.
    let appended = false;
    for (let attempt = 0; attempt < 20 && !appended; attempt++) {
      appended = await append().then(() => true, () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)));
    }
    expect(appended).toBe(true);
    for (let i = 0; i < 9; i++) await append();
    expect((await store.readStream(downStream)).status).toBe('not_found');

    const head = (await store.headPosition())!;
    expect(head).toBe(20n);
    expect(await waitForProjection(db, 'activity', head, 30_000)).toBe(true);
    await runner.stop();
    await relay.stop();
    const { rows } = await sql<{ n: string; d: string }>`SELECT count(*) AS n, count(DISTINCT position) AS d FROM activity_events`.execute(db);
    expect(rows[0]).toEqual({ n: '20', d: '20' });
  }, 90_000);
});
