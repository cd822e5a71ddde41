/**
 * Rebuilding read models while the live pipeline (relay → JetStream → ProjectionRunner) keeps running:
 * every projection in PROJECTIONS, queries during a rebuild, events appended during it, and the runner after it.
 */
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/infra/logger.js';
import { PROJECTIONS } from '../../../src/projections/index.js';
import { contactsProjection } from '../../../src/projections/contacts/index.js';
import { rebuildProjection, RebuildBusyError } from '../../../src/projections/rebuild/rebuild.js';
import { createContacts, seedLog, type Seeded } from './seed.js';
import { checkpointOf, indexesOf, rebuildSchemas, rowsOf, startLivePipeline, useRebuildEnv, type LivePipeline } from './support.js';

const env = useRebuildEnv('rebuild');
let live: LivePipeline;
let seeded: Seeded;

beforeAll(async () => {
  live = await startLivePipeline(env, 'rebuild', PROJECTIONS);
  seeded = await seedLog(env.store);
  await live.caughtUp();
});

describe('rebuilding a read model', () => {
  it.each(PROJECTIONS.map((p) => [p.name, p] as const))('%s: the rebuilt tables equal the live ones, under the same index names, and the checkpoint is the head', async (_name, projection) => {
    const before = await rowsOf(env.db, projection);
    expect(Object.values(before).some((rows) => rows.length > 0), `${projection.name} has rows to rebuild`).toBe(true);
    const indexesBefore = await indexesOf(env.db, projection);

    const result = await rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection, logger: silentLogger, pageSize: 37 });

    await live.caughtUp();
    expect(await rowsOf(env.db, projection)).toEqual(before);
    expect(await indexesOf(env.db, projection)).toEqual(indexesBefore);
    const head = await env.store.headPosition();
    expect(result.position).toBe(head);
    expect(BigInt((await checkpointOf(env.db, projection.name))!)).toBe(head);
    expect(result.events).toBe(Number(head));
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });

  it('keeps queries answering while it runs, includes events appended meanwhile, and the live runner continues after the switch', async () => {
    const extra = await createContacts(env.store, seeded.workspaceId, 60, 'bulk');
    await live.caughtUp();
    const expected = seeded.contactIds.length + extra.length;
    const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM contacts WHERE workspace_id = ${seeded.workspaceId}`.execute(env.db)).rows[0]!.n);
    expect(await count()).toBe(expected);

    let reading = true;
    const answers: number[] = [];
    const reader = (async () => {
      while (reading) {
        answers.push(await count()); // throws (fails the test) if a query errors
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let appendedDuring: string[] = [];
    let pages = 0;
    const result = await rebuildProjection({
      db: env.db,
      pool: env.pool,
      store: env.store,
      projection: contactsProjection,
      logger: silentLogger,
      pageSize: 15,
      onProgress: async (p) => {
        if (p.phase === 'copying' && ++pages === 3) appendedDuring = await createContacts(env.store, seeded.workspaceId, 5, 'during');
      },
    });
    reading = false;
    await reader;

    expect(appendedDuring).toHaveLength(5);
    expect(answers.length).toBeGreaterThan(5);
    // Never an empty or partial answer: the old tables (then the new ones) always held every contact.
    expect(Math.min(...answers)).toBeGreaterThanOrEqual(expected);
    expect(result.position).toBe(await env.store.headPosition());
    const ids = (await env.db.selectFrom('contacts').select('id').where('workspace_id', '=', seeded.workspaceId).execute()).map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining([...seeded.contactIds, ...extra, ...appendedDuring]));

    // The live runner keeps applying to the switched-in tables.
    const after = await createContacts(env.store, seeded.workspaceId, 3, 'after');
    await live.caughtUp();
    expect(await count()).toBe(expected + 5 + 3);
    const afterRows = await env.db.selectFrom('contacts').select('id').where('id', 'in', after).execute();
    expect(afterRows).toHaveLength(3);
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });

  it('waits for an in-flight live batch (the checkpoint row lock), retrying the switch after a lock timeout', async () => {
    const holder = await env.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE', [contactsProjection.name]);
      let switching = 0;
      const result = await rebuildProjection({
        db: env.db,
        pool: env.pool,
        store: env.store,
        projection: contactsProjection,
        logger: silentLogger,
        lockTimeoutMs: 200,
        switchAttempts: 5,
        // The first attempt meets the "batch" holding the row; before the second, that batch commits.
        onProgress: async (p) => {
          if (p.phase === 'switching' && ++switching === 2) await holder.query('COMMIT');
        },
      });
      expect(switching).toBe(2);
      expect(result.switchAttempts).toBe(2);
      expect(result.position).toBe(await env.store.headPosition());
    } finally {
      holder.release();
    }
    await live.caughtUp();
  });

  it('refuses a second rebuild of the same projection while one runs', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: contactsProjection, logger: silentLogger, onProgress: (p) => (p.phase === 'copying' ? gate : undefined) });
    await new Promise((r) => setTimeout(r, 200));
    await expect(rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: contactsProjection, logger: silentLogger })).rejects.toBeInstanceOf(RebuildBusyError);
    release();
    await first;
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });
});
