/**
 * The rebuild on projections made up for the test (generic code: whatever a projection declares), and its bad
 * input and failure paths: unknown projection, failure or Ctrl-C mid-way, an undeclared table, an unsupported
 * table, the CLI's exit codes.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { newEvent } from '../../eventstore/contract.js';
import type { RecordedEvent } from '../../../src/eventstore/port.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { PROJECTIONS } from '../../../src/projections/index.js';
import { runRebuildCli } from '../../../src/projections/rebuild/cliRun.js';
import { RebuildAbortedError, rebuildProjection } from '../../../src/projections/rebuild/rebuild.js';
import { UndeclaredTableError } from '../../../src/projections/rebuild/switch.js';
import { RebuildUnsupportedError } from '../../../src/projections/rebuild/tables.js';
import { applyBatch } from '../../../src/projections/runner/applyBatch.js';
import type { Projection } from '../../../src/projections/runner/projectionRunner.js';
import { listParkedEvents } from '../../../src/projections/runner/queries.js';
import { checkpointOf, indexesOf, rebuildSchemas, rowsOf, useRebuildEnv } from './support.js';

const env = useRebuildEnv('rebuildgeneric');

/** Items with a serial id, an identity column, CHECK, UNIQUE, partial unique and GIN indexes, and a foreign key out. */
const items: Projection = {
  name: 'rb_items',
  tables: ['rb_items', 'rb_counts'],
  async apply(trx, event) {
    if (event.type === 'Poison') throw new Error('cannot project Poison');
    await sql`INSERT INTO rb_items (stream_id, revision, data) VALUES (${event.streamId}, ${event.revision}, ${JSON.stringify(event.data)}::jsonb)`.execute(trx);
    await sql`INSERT INTO rb_counts (stream_id, events, workspace_id) VALUES (${event.streamId}, 1, ${WORKSPACE}) ON CONFLICT (stream_id) DO UPDATE SET events = rb_counts.events + 1`.execute(trx);
  },
};
const WORKSPACE = `ws-${randomUUID()}`;

/** Writes a table it does not declare. */
const sneaky: Projection = {
  name: 'rb_sneaky',
  tables: ['rb_sneaky'],
  async apply(trx, event) {
    await sql`INSERT INTO rb_sneaky (event_id) VALUES (${event.id})`.execute(trx);
    await sql`INSERT INTO rb_undeclared (event_id) VALUES (${event.id})`.execute(trx);
  },
};

/** The live read model, built as the runner builds it (applyBatch, pages of 25). */
async function project(projection: Projection): Promise<void> {
  let after: bigint | null = null;
  for (;;) {
    const page: readonly RecordedEvent[] = await env.store.readAll({ after, maxCount: 25 });
    if (page.length === 0) return;
    await applyBatch({ projection, db: env.db, store: env.store, log: silentLogger }, page.map((event, i) => ({ event, previous: i === 0 ? after : page[i - 1]!.position })));
    after = page[page.length - 1]!.position;
  }
}

async function append(streams: number, perStream: number, type = 'Changed'): Promise<void> {
  for (let s = 0; s < streams; s++) {
    const meta = { correlationId: randomUUID(), causationId: null, commandId: null, actor: 'test', workspaceId: WORKSPACE, schemaVersion: 1 };
    await env.store.append(`item-${randomUUID()}`, Array.from({ length: perStream }, (_, i) => ({ ...newEvent(type, { i, tag: `t${i % 3}` }), metadata: meta })), { expectedRevision: 'no_stream' });
  }
}

const cliOutput = () => {
  const out = { stdout: '', stderr: '' };
  return { out, sink: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
};

beforeAll(async () => {
  await sql`INSERT INTO workspaces (id, name) VALUES (${WORKSPACE}, 'rebuild test')`.execute(env.db);
  await sql`
    CREATE TABLE rb_items (
      id bigserial PRIMARY KEY,
      n int GENERATED ALWAYS AS IDENTITY,
      stream_id text NOT NULL,
      revision int NOT NULL CHECK (revision >= 0),
      data jsonb NOT NULL DEFAULT '{}',
      CONSTRAINT rb_items_once UNIQUE (stream_id, revision)
    )`.execute(env.db);
  await sql`CREATE INDEX rb_items_data ON rb_items USING gin (data jsonb_path_ops)`.execute(env.db);
  await sql`CREATE UNIQUE INDEX rb_items_first ON rb_items (stream_id) WHERE revision = 0`.execute(env.db);
  await sql`CREATE TABLE rb_counts (stream_id text PRIMARY KEY, events int NOT NULL, workspace_id text REFERENCES workspaces (id))`.execute(env.db);
  for (const t of ['rb_sneaky', 'rb_undeclared']) await sql`CREATE TABLE ${sql.table(t)} (event_id uuid PRIMARY KEY)`.execute(env.db);
  await append(20, 6);
  await append(1, 1, 'Poison');
  await append(5, 2);
  await project(items);
});

describe('rebuild: whatever tables a projection declares', () => {
  it('copies sequences, identity, constraints, indexes (same names) and foreign keys; parks the same poison event; --keep-old keeps the replaced tables', async () => {
    // Generated ids are not part of the model: sequences are not transactional (a batch retried around a poison
    // event burns values), so they are compared apart from the rows.
    const withoutIds = async () => ({ ...(await rowsOf(env.db, items)), rb_items: (await rowsOf(env.db, items)).rb_items!.map((r) => r.replace(/"(id|n)": \d+, /g, '')).sort() });
    const before = await withoutIds();
    const indexes = await indexesOf(env.db, items);
    const parkedBefore = await listParkedEvents(env.db, { projection: items.name });
    expect(parkedBefore).toHaveLength(1);

    const result = await rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: items, logger: silentLogger, pageSize: 16, keepOld: true });

    expect(await withoutIds()).toEqual(before);
    expect(await indexesOf(env.db, items)).toEqual(indexes);
    expect(result.parked).toBe(1);
    const parked = await listParkedEvents(env.db, { projection: items.name });
    expect(parked.map((p) => p.event_id)).toEqual(parkedBefore.map((p) => p.event_id));
    const fk = await sql<{ def: string }>`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'rb_counts'::regclass AND contype = 'f'`.execute(env.db);
    expect(fk.rows.map((r) => r.def)).toEqual(['FOREIGN KEY (workspace_id) REFERENCES workspaces(id)']);
    expect(result.retiredSchema).toMatch(/^retired_rb_items_/);
    expect(await rebuildSchemas(env.db)).toEqual([result.retiredSchema]);
    const kept = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(`${result.retiredSchema}.rb_items`)}`.execute(env.db);
    expect(Number(kept.rows[0]!.n)).toBe(before.rb_items!.length);

    // The rebuilt table's own sequences go on from where the rebuild left them.
    const maxIds = async () => (await sql<{ id: string; n: number }>`SELECT max(id) AS id, max(n) AS n FROM rb_items`.execute(env.db)).rows[0]!;
    const rebuilt = await maxIds();
    await project(items); // nothing new: changes nothing
    await append(1, 2);
    await project(items);
    const last = await maxIds();
    expect(Number(last.id)).toBe(Number(rebuilt.id) + 2);
    expect(last.n).toBe(rebuilt.n + 2);
    await sql`DROP SCHEMA ${sql.id(result.retiredSchema!)} CASCADE`.execute(env.db);
  });

  it('a failure mid-way leaves the serving tables and checkpoint untouched and no schema behind', async () => {
    const before = await rowsOf(env.db, items);
    const checkpoint = await checkpointOf(env.db, items.name);
    let pages = 0;
    const failing = rebuildProjection({
      db: env.db,
      pool: env.pool,
      store: env.store,
      projection: items,
      logger: silentLogger,
      pageSize: 10,
      onProgress: (p) => {
        if (p.phase === 'copying' && ++pages === 3) throw new Error('disk full (simulated)');
      },
    });
    await expect(failing).rejects.toThrow('disk full (simulated)');
    expect(await rowsOf(env.db, items)).toEqual(before);
    expect(await checkpointOf(env.db, items.name)).toBe(checkpoint);
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });

  it('Ctrl-C (abort) mid-way: RebuildAbortedError, nothing changed; the CLI exits 130', async () => {
    const before = await rowsOf(env.db, items);
    const abort = new AbortController();
    let pages = 0;
    const aborted = rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: items, logger: silentLogger, pageSize: 10, signal: abort.signal, onProgress: () => void (++pages === 2 && abort.abort()) });
    await expect(aborted).rejects.toBeInstanceOf(RebuildAbortedError);
    expect(await rowsOf(env.db, items)).toEqual(before);
    expect(await rebuildSchemas(env.db)).toEqual([]);

    const { out, sink } = cliOutput();
    const cliAbort = new AbortController();
    cliAbort.abort();
    expect(await runRebuildCli(['rb_items'], { ...env, projections: [items], logger: silentLogger, out: sink, signal: cliAbort.signal })).toBe(130);
    expect(out.stderr).toContain('nothing was changed');
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });

  it('a projection that uses a table it does not declare fails the rebuild without writing the live table', async () => {
    await project(sneaky);
    const undeclared = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM rb_undeclared`.execute(env.db)).rows[0]!.n);
    const before = await undeclared();
    expect(before).toBeGreaterThan(0);
    await expect(rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: sneaky, logger: silentLogger })).rejects.toThrow(UndeclaredTableError);
    await expect(rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: sneaky, logger: silentLogger })).rejects.toThrow(/does not declare in Projection.tables \(declared: rb_sneaky\): relation "rb_undeclared" does not exist/);
    expect(await undeclared()).toBe(before);
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });

  it('refuses tables it cannot copy faithfully, before creating anything', async () => {
    const missing: Projection = { ...items, name: 'rb_missing', tables: ['rb_nowhere'] };
    await expect(rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: missing, logger: silentLogger })).rejects.toThrow(/rb_nowhere not found/);
    await sql`CREATE TABLE rb_triggered (id int PRIMARY KEY)`.execute(env.db);
    await sql`CREATE FUNCTION rb_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`.execute(env.db);
    await sql`CREATE TRIGGER rb_touch BEFORE INSERT ON rb_triggered FOR EACH ROW EXECUTE FUNCTION rb_noop()`.execute(env.db);
    const triggered: Projection = { ...items, name: 'rb_triggered', tables: ['rb_triggered'] };
    await expect(rebuildProjection({ db: env.db, pool: env.pool, store: env.store, projection: triggered, logger: silentLogger })).rejects.toThrow(RebuildUnsupportedError);
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });
});

describe('applyMany (a whole batch in one call)', () => {
  it('applies the batch at once, and when it throws, redoes it event by event so only the poison event is parked', async () => {
    await sql`CREATE TABLE rb_many (event_id uuid PRIMARY KEY)`.execute(env.db);
    const calls: number[] = [];
    const many: Projection = {
      name: 'rb_many',
      tables: ['rb_many'],
      async apply(trx, event) {
        if (event.type === 'Poison') throw new Error('cannot project Poison');
        await sql`INSERT INTO rb_many (event_id) VALUES (${event.id})`.execute(trx);
      },
      async applyMany(trx, events) {
        calls.push(events.length);
        if (events.some((e) => e.type === 'Poison')) throw new Error('cannot project Poison');
        await sql`INSERT INTO rb_many (event_id) SELECT unnest(${events.map((e) => e.id)}::uuid[])`.execute(trx);
      },
    };
    await project(many);
    const head = await env.store.headPosition();
    const total = Number(head);
    expect(calls.length).toBeGreaterThan(1);
    const rows = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM rb_many`.execute(env.db)).rows[0]!.n);
    expect(rows).toBe(total - 1);
    expect((await listParkedEvents(env.db, { projection: 'rb_many' })).map((p) => p.event_type)).toEqual(['Poison']);
    expect(await checkpointOf(env.db, 'rb_many')).toBe(String(head));
  });
});

describe('rebuild CLI', () => {
  it('an unknown projection: exit 2, the known ones listed, nothing created', async () => {
    const { out, sink } = cliOutput();
    expect(await runRebuildCli(['contcts'], { ...env, projections: PROJECTIONS, logger: silentLogger, out: sink })).toBe(2);
    expect(out.stderr).toContain('unknown projection "contcts"');
    for (const p of PROJECTIONS) expect(out.stderr).toContain(p.name);
    expect(await rebuildSchemas(env.db)).toEqual([]);
  });

  it('bad usage exits 2; --list lists every projection with its tables', async () => {
    for (const argv of [[], ['contacts', 'activity'], ['contacts', '--page-size', '0'], ['--nope'], ['--list', 'contacts']]) {
      const { out, sink } = cliOutput();
      expect(await runRebuildCli(argv, { ...env, projections: PROJECTIONS, logger: silentLogger, out: sink }), argv.join(' ')).toBe(2);
      expect(out.stderr).toContain('Usage: npm run rebuild');
    }
    const { out, sink } = cliOutput();
    expect(await runRebuildCli(['--list', '--json'], { ...env, projections: PROJECTIONS, logger: silentLogger, out: sink })).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ projections: PROJECTIONS.map((p) => ({ name: p.name, tables: p.tables })) });
  });

  it('rebuilds and prints the summary (JSON), exit 0', async () => {
    const { out, sink } = cliOutput();
    expect(await runRebuildCli(['rb_items', '--json', '--page-size', '50'], { ...env, projections: [items], logger: silentLogger, out: sink })).toBe(0);
    const summary = JSON.parse(out.stdout) as { projection: string; events: number; position: string };
    expect(summary.projection).toBe('rb_items');
    expect(summary.position).toBe(String(await env.store.headPosition()));
  });

  it('the process: an unknown projection exits 2 before connecting anywhere', async () => {
    const run = promisify(execFile)('node', ['--import', 'tsx', 'src/projections/rebuild/cli.ts', 'nope'], { env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
    const failed = (await run.catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('unknown projection "nope"; known projections: activity, contacts');
  });
});
