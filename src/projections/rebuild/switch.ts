import { sql, type Kysely, type Transaction } from 'kysely';
import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../db/schema.js';
import { applyBatchWithin, type Projection } from '../runner/applyBatch.js';
import type { PublishedEvent } from '../runner/projectionRunner.js';
import { quoteIdent, type LiveTable } from './tables.js';

export interface PageContext {
  /** The projection wrapped by `guardTables`. */
  readonly projection: Projection;
  readonly store: EventStore;
  readonly log: Logger;
  /** The schema holding the fresh copies: the only one on the search_path while the projection runs. */
  readonly rebuild: string;
  /** Throws UndeclaredTableError when the projection used a table it does not declare (see `guardTables`). */
  readonly checkTables: () => void;
}

/**
 * Runs the projection's own batch code (checkpoint, redelivery skip, poison parking) inside `trx` with ONLY
 * the rebuild schema on the search_path: its unqualified table names, raw SQL included, reach the fresh copies,
 * the checkpoint and parked events land in the copies of the runner's bookkeeping tables, and a table the
 * projection uses without declaring it fails ("relation … does not exist") instead of touching the live one.
 * `previous` is the position of the event before `events[0]` (null at the start of the log).
 */
export async function applyPageWithin(trx: Transaction<Database>, context: PageContext, events: readonly RecordedEvent[], previous: bigint | null): Promise<void> {
  await sql`SELECT set_config('search_path', ${quoteIdent(context.rebuild)}, true)`.execute(trx);
  const published: PublishedEvent[] = events.map((event, i) => ({ event, previous: i === 0 ? previous : events[i - 1]!.position }));
  await applyBatchWithin(trx, context, published);
  context.checkTables();
  await sql`SELECT set_config('search_path', 'pg_catalog', true)`.execute(trx);
}

export class UndeclaredTableError extends Error {
  override readonly name = 'UndeclaredTableError';
}

const UNDEFINED_TABLE = '42P01';

/**
 * The projection as the rebuild runs it. The batch code parks an event whose projection throws, so a use of an
 * undeclared table (SQLSTATE 42P01 with only the rebuild schema on the search_path, in any server language)
 * would only be parked; the wrapper remembers it, and `checkTables` fails the rebuild after the page.
 */
export function guardTables(projection: Projection): { projection: Projection; checkTables: () => void } {
  let undefinedTable: { message: string } | null = null;
  const guard = async (run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) undefinedTable ??= { message: error instanceof Error ? error.message : String(error) };
      throw error;
    }
  };
  const { applyMany } = projection;
  const guarded: Projection = {
    ...projection,
    apply: (trx, event) => guard(() => projection.apply(trx, event)),
    ...(applyMany === undefined ? {} : { applyMany: (trx, events) => guard(() => applyMany.call(projection, trx, events)) }),
  };
  return {
    projection: guarded,
    checkTables() {
      if (undefinedTable === null) return;
      throw new UndeclaredTableError(
        `projection ${projection.name} uses a table it does not declare in Projection.tables (declared: ${projection.tables.join(', ')}): ${undefinedTable.message}`,
      );
    },
  };
}

export interface SwitchOptions extends PageContext {
  readonly db: Kysely<Database>;
  /** The schema the application reads (where the live tables are). */
  readonly live: string;
  /** Where the replaced tables go; dropped in the same transaction unless `keepOld`. */
  readonly retired: string;
  readonly keepOld: boolean;
  readonly tables: readonly LiveTable[];
  /** Position the copies have reached (null: nothing applied yet). */
  readonly position: bigint | null;
  readonly pageSize: number;
  readonly lockTimeoutMs: number;
}

export interface SwitchResult {
  readonly position: bigint | null;
  /** Events of the tail applied inside the switch. */
  readonly tail: number;
  readonly parked: number;
}

/**
 * The switch, in ONE transaction (DDL is transactional in PostgreSQL; a reader sees the old tables or the new
 * ones, never a mix):
 * 1. Lock the live checkpoint row (`FOR UPDATE`). Every batch of the live runner takes this same row lock first
 *    (applyBatch), so an in-flight batch finishes before, and the next one waits until after, the switch, in
 *    this process or any other; the runner needs no signal and keeps its leadership.
 * 2. Apply the tail (events after the copies' position, up to the store's head) to the copies, which are then
 *    at or beyond the live checkpoint.
 * 3. Take the live tables (ACCESS EXCLUSIVE: running queries finish first, new ones wait a moment), move them to
 *    `retired`, move the copies into the live schema under the same names.
 * 4. Set the live checkpoint to the copies' position (the waiting batch then skips what was applied, and the
 *    runner continues from there), and replace the projection's parked events with the rebuild's.
 * 5. Drop the rebuild schema (only bookkeeping is left in it) and, unless `keepOld`, the retired tables.
 * `lock_timeout` bounds every wait; a timeout rolls everything back (the caller catches up and tries again).
 */
export async function switchTables(options: SwitchOptions): Promise<SwitchResult> {
  const { db, live, rebuild, retired, projection } = options;
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, true), set_config('search_path', 'pg_catalog', true)`.execute(trx);
    const checkpoints = sql.id(live, 'projection_checkpoints');
    await sql`INSERT INTO ${checkpoints} (projection, position) VALUES (${projection.name}, 0) ON CONFLICT (projection) DO NOTHING`.execute(trx);
    const liveRow = await sql<{ position: string }>`SELECT position FROM ${checkpoints} WHERE projection = ${projection.name} FOR UPDATE`.execute(trx);
    const liveCheckpoint = BigInt(liveRow.rows[0]!.position);

    let position = options.position;
    let tail = 0;
    for (;;) {
      const page = await options.store.readAll({ after: position, maxCount: options.pageSize });
      if (page.length === 0) break;
      await applyPageWithin(trx, options, page, position);
      position = page[page.length - 1]!.position;
      tail += page.length;
    }
    if (liveCheckpoint > (position ?? 0n)) throw new Error(`the live checkpoint (${liveCheckpoint}) is beyond the store's head (${String(position)}): is this the projection's event store?`);

    await sql`LOCK TABLE ${sql.join(options.tables.map((t) => sql.id(live, t.name)))} IN ACCESS EXCLUSIVE MODE`.execute(trx);
    await sql`CREATE SCHEMA ${sql.id(retired)}`.execute(trx);
    for (const t of options.tables) await sql`ALTER TABLE ${sql.id(live, t.name)} SET SCHEMA ${sql.id(retired)}`.execute(trx);
    for (const t of options.tables) await sql`ALTER TABLE ${sql.id(rebuild, t.name)} SET SCHEMA ${sql.id(live)}`.execute(trx);

    await sql`UPDATE ${checkpoints} SET position = ${String(position ?? 0n)}, updated_at = now() WHERE projection = ${projection.name}`.execute(trx);
    const parkedTable = sql.id(live, 'projection_parked_events');
    const columns = sql.join(['projection', 'position', 'event_id', 'stream_id', 'event_type', 'envelope', 'error', 'parked_at'].map((c) => sql.id(c)));
    await sql`DELETE FROM ${parkedTable} WHERE projection = ${projection.name}`.execute(trx);
    const parked = await sql`INSERT INTO ${parkedTable} (${columns}) SELECT ${columns} FROM ${sql.id(rebuild, 'projection_parked_events')} WHERE projection = ${projection.name}`.execute(trx);

    await sql`DROP SCHEMA ${sql.id(rebuild)} CASCADE`.execute(trx);
    if (!options.keepOld) await sql`DROP SCHEMA ${sql.id(retired)} CASCADE`.execute(trx);
    return { position, tail, parked: Number(parked.numAffectedRows ?? 0n) };
  });
}
