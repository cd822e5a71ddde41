import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * The DDL side of a rebuild: what a projection's live tables look like (from the catalog) and fresh, empty
 * copies of them in another schema, with the same names for tables, indexes and constraints, so that after the
 * switch nothing (a later migration dropping an index by name, say) can tell a rebuilt table from the original.
 *
 * `CREATE TABLE … (LIKE … INCLUDING ALL EXCLUDING INDEXES)` copies columns, defaults, NOT NULL and CHECK
 * constraints, identity columns (with a fresh sequence), generated columns, storage, compression, comments and
 * statistics targets. Indexes are recreated from `pg_get_indexdef`/`pg_get_constraintdef` under their own
 * names: primary keys, unique and exclusion constraints and unique indexes at once (ON CONFLICT and lookups
 * need them while the copy fills); plain indexes after the bulk of the log, which builds them in one pass
 * instead of row by row. A `serial` column gets its own fresh sequence (a sequence must live in its table's
 * schema): generated ids restart, as in a database rebuilt from scratch.
 *
 * Refused, with the reason (nothing is created): partitioned or inheriting tables, triggers, row-level
 * security, views or rules over the tables, and foreign keys between the projection's own tables or from
 * other tables into them (those would have to be re-pointed). Foreign keys to other tables are copied.
 */

export class RebuildUnsupportedError extends Error {
  override readonly name = 'RebuildUnsupportedError';
}

interface IndexInfo {
  readonly name: string;
  /** `CREATE [UNIQUE] INDEX name ON schema.table USING …`, fully qualified. */
  readonly definition: string;
  readonly unique: boolean;
  /** The constraint the index backs (primary key, unique, exclusion), if any. */
  readonly constraint: { readonly name: string; readonly definition: string } | null;
}

interface SerialSequence {
  readonly column: string;
  readonly name: string;
  /** `AS bigint INCREMENT 1 …`: the options of CREATE SEQUENCE. */
  readonly options: string;
}

export interface LiveTable {
  readonly name: string;
  /** As the catalog prints it with an empty search_path: `public.contacts`. */
  readonly qualified: string;
  readonly indexes: readonly IndexInfo[];
  readonly foreignKeys: readonly { readonly name: string; readonly definition: string }[];
  readonly serials: readonly SerialSequence[];
}

const ident = (name: string) => sql.id(name);
const table = (schema: string, name: string) => sql.id(schema, name);

/** The projection's tables in `schema`, checked to be copyable; throws RebuildUnsupportedError otherwise. */
export async function inspectLiveTables(db: Kysely<Database>, schema: string, tables: readonly string[]): Promise<LiveTable[]> {
  if (tables.length === 0) throw new RebuildUnsupportedError('the projection declares no tables (Projection.tables)');
  if (new Set(tables).size !== tables.length) throw new RebuildUnsupportedError(`the projection declares a table twice: ${tables.join(', ')}`);
  return db.transaction().execute(async (trx) => {
    // With only pg_catalog on the search_path, every name the catalog prints is schema-qualified.
    await sql`SELECT set_config('search_path', 'pg_catalog', true)`.execute(trx);
    const found = await sql<{ relname: string; oid: number; relkind: string; rls: boolean; inherits: boolean }>`
      SELECT c.relname, c.oid::int8 AS oid, c.relkind::text, c.relrowsecurity AS rls,
             EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid OR h.inhparent = c.oid) AS inherits
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ${schema} AND c.relname = ANY(${[...tables]}::text[])`.execute(trx);
    const missing = tables.filter((t) => !found.rows.some((r) => r.relname === t));
    if (missing.length > 0) throw new RebuildUnsupportedError(`table(s) ${missing.join(', ')} not found in schema ${schema} (migrations not run?)`);
    const oids = found.rows.map((r) => Number(r.oid));
    for (const r of found.rows) {
      if (r.relkind !== 'r') throw new RebuildUnsupportedError(`${r.relname} is not a plain table (relkind ${r.relkind})`);
      if (r.inherits) throw new RebuildUnsupportedError(`${r.relname} takes part in table inheritance or partitioning`);
      if (r.rls) throw new RebuildUnsupportedError(`${r.relname} has row-level security`);
    }
    await refuseDependents(trx, oids);

    const out: LiveTable[] = [];
    for (const name of tables) {
      const oid = Number(found.rows.find((r) => r.relname === name)!.oid);
      const qualified = (await sql<{ q: string }>`SELECT ${oid}::oid::regclass::text AS q`.execute(trx)).rows[0]!.q;
      const indexes = await sql<{ name: string; definition: string; unique: boolean; conname: string | null; condef: string | null }>`
        SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS unique,
               con.conname, pg_get_constraintdef(con.oid) AS condef
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
          LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
         WHERE i.indrelid = ${oid}::oid ORDER BY ic.relname`.execute(trx);
      const foreignKeys = await sql<{ name: string; definition: string; target: number }>`
        SELECT conname AS name, pg_get_constraintdef(oid) AS definition, confrelid::int8 AS target
          FROM pg_constraint WHERE contype = 'f' AND conrelid = ${oid}::oid ORDER BY conname`.execute(trx);
      for (const fk of foreignKeys.rows) {
        if (oids.includes(Number(fk.target))) throw new RebuildUnsupportedError(`foreign key ${fk.name} of ${name} points at another table of the same projection`);
      }
      const serials = await sql<{ column: string; name: string; options: string }>`
        SELECT a.attname AS column, sc.relname AS name,
               format('AS %s INCREMENT %s MINVALUE %s MAXVALUE %s START %s CACHE %s %s', format_type(s.seqtypid, NULL), s.seqincrement,
                      s.seqmin, s.seqmax, s.seqstart, s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END) AS options
          FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid JOIN pg_class sc ON sc.oid = s.seqrelid
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ${oid}::oid AND d.deptype = 'a'`.execute(trx);
      out.push({
        name,
        qualified,
        indexes: indexes.rows.map((r) => ({ name: r.name, definition: r.definition, unique: r.unique, constraint: r.conname === null ? null : { name: r.conname, definition: r.condef! } })),
        foreignKeys: foreignKeys.rows.map((r) => ({ name: r.name, definition: r.definition })),
        serials: serials.rows,
      });
    }
    return out;
  });
}

async function refuseDependents(trx: Transaction<Database>, oids: readonly number[]): Promise<void> {
  const triggers = await sql<{ name: string; on: string }>`
    SELECT tgname AS name, tgrelid::regclass::text AS on FROM pg_trigger WHERE tgrelid = ANY(${oids}::oid[]) AND NOT tgisinternal`.execute(trx);
  if (triggers.rows.length > 0) throw new RebuildUnsupportedError(`trigger ${triggers.rows[0]!.name} on ${triggers.rows[0]!.on}`);
  const incoming = await sql<{ name: string; from: string; to: string }>`
    SELECT conname AS name, conrelid::regclass::text AS from, confrelid::regclass::text AS to FROM pg_constraint
     WHERE contype = 'f' AND confrelid = ANY(${oids}::oid[]) AND NOT conrelid = ANY(${oids}::oid[])`.execute(trx);
  if (incoming.rows.length > 0) throw new RebuildUnsupportedError(`foreign key ${incoming.rows[0]!.name} of ${incoming.rows[0]!.from} points at ${incoming.rows[0]!.to}`);
  const views = await sql<{ name: string }>`
    SELECT DISTINCT v.oid::regclass::text AS name FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
     WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = ANY(${oids}::oid[]) AND NOT v.oid = ANY(${oids}::oid[])`.execute(trx);
  if (views.rows.length > 0) throw new RebuildUnsupportedError(`view or rule ${views.rows[0]!.name} depends on the tables`);
}

/**
 * Creates `rebuild` with empty copies of the tables (constraints and unique indexes included, plain indexes
 * left for `createDeferredIndexes`) and of the runner's bookkeeping tables, so that the runner's own batch code
 * keeps the rebuild's checkpoint and parked events there.
 */
export async function createCopies(db: Kysely<Database>, live: string, rebuild: string, tables: readonly LiveTable[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('search_path', 'pg_catalog', true)`.execute(trx);
    await sql`CREATE SCHEMA ${ident(rebuild)}`.execute(trx);
    for (const bookkeeping of ['projection_checkpoints', 'projection_parked_events']) {
      await sql`CREATE TABLE ${table(rebuild, bookkeeping)} (LIKE ${table(live, bookkeeping)} INCLUDING ALL)`.execute(trx);
    }
    for (const t of tables) {
      const copy = table(rebuild, t.name);
      await sql`CREATE TABLE ${copy} (LIKE ${table(live, t.name)} INCLUDING ALL EXCLUDING INDEXES)`.execute(trx);
      for (const s of t.serials) {
        await sql`CREATE SEQUENCE ${table(rebuild, s.name)} ${sql.raw(s.options)} OWNED BY ${sql.id(rebuild, t.name, s.column)}`.execute(trx);
        const regclass = `${quoteIdent(rebuild)}.${quoteIdent(s.name)}`;
        await sql`ALTER TABLE ${copy} ALTER COLUMN ${ident(s.column)} SET DEFAULT nextval(${sql.lit(regclass)}::regclass)`.execute(trx);
      }
      for (const index of t.indexes.filter((i) => i.constraint !== null || i.unique)) await createIndex(trx, rebuild, t, index);
      for (const fk of t.foreignKeys) await sql`ALTER TABLE ${copy} ADD CONSTRAINT ${ident(fk.name)} ${sql.raw(fk.definition)}`.execute(trx);
    }
  });
}

/**
 * The plain (non-unique, non-constraint) indexes, built once the copy holds the bulk of the rows, all at once on
 * their own connections (an index build is one CPU-bound statement); then ANALYZE, so the switched-in tables
 * have statistics from the start.
 */
export async function createDeferredIndexes(db: Kysely<Database>, rebuild: string, tables: readonly LiveTable[]): Promise<void> {
  const builds = tables.flatMap((t) => t.indexes.filter((i) => i.constraint === null && !i.unique).map((index) => ({ t, index })));
  await Promise.all(
    builds.map(({ t, index }) =>
      db.transaction().execute(async (trx) => {
        // Index builds are memory-bound; the server's default maintenance memory is small.
        await sql`SELECT set_config('maintenance_work_mem', '128MB', true), set_config('search_path', 'pg_catalog', true)`.execute(trx);
        await createIndex(trx, rebuild, t, index);
      }),
    ),
  );
  for (const t of tables) await sql`ANALYZE ${table(rebuild, t.name)}`.execute(db);
}

async function createIndex(trx: Transaction<Database>, rebuild: string, t: LiveTable, index: IndexInfo): Promise<void> {
  const copy = table(rebuild, t.name);
  if (index.constraint !== null) {
    await sql`ALTER TABLE ${copy} ADD CONSTRAINT ${ident(index.constraint.name)} ${sql.raw(index.constraint.definition)}`.execute(trx);
    return;
  }
  const on = ` ON ${t.qualified} USING `;
  if (index.definition.split(on).length !== 2) throw new RebuildUnsupportedError(`cannot re-target index ${index.name}: ${index.definition}`);
  await sql.raw(index.definition.replace(on, ` ON ${quoteIdent(rebuild)}.${quoteIdent(t.name)} USING `)).execute(trx);
}

/** PostgreSQL identifier quoting (always quoted: exact and safe). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
