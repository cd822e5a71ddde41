import { sql, type Kysely, type Transaction } from 'kysely';
import { toWire } from '../../eventstore/envelope.js';
import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import { isConnectionError } from '../../infra/postgres.js';
import { projectionParked } from '../../infra/metrics.js';
import type { Database } from '../db/schema.js';
import type { PublishedEvent } from './projectionRunner.js';

export interface Projection {
  readonly name: string;
  /** Event types this projection reads; others only move its checkpoint. Undefined: every type. */
  readonly eventTypes?: readonly string[];
  /**
   * The read-model tables this projection owns: the only ones it writes AND reads, by unqualified name (no
   * schema prefix). A rebuild (src/projections/rebuild/) fills fresh copies of exactly these and swaps them in;
   * it runs the projection with only the fresh copies on the search_path, so a table missing here fails the
   * rebuild instead of being written live.
   */
  readonly tables: readonly string[];
  /** Applies one event inside the batch's transaction; writes only through `trx`. */
  apply(trx: Transaction<Database>, event: RecordedEvent): Promise<void>;
  /**
   * Optional: applies a batch's events (those of `eventTypes`, in log order) at once, e.g. one multi-row
   * statement instead of one per event. Must leave exactly what `apply` of each event in turn would. When it
   * throws, the batch is redone event by event with `apply`, so the poison event is found and parked.
   */
  applyMany?(trx: Transaction<Database>, events: readonly RecordedEvent[]): Promise<void>;
}

interface BatchContext {
  readonly projection: Projection;
  readonly db: Kysely<Database>;
  readonly store: EventStore;
  readonly log: Logger;
}

/**
 * Applies a batch and moves the checkpoint in one transaction. Events at or below the checkpoint are skipped
 * (redeliveries). When an event's predecessor is beyond the checkpoint, the missing events are read from the
 * store first (a gap in NATS). The batch is first tried without savepoints; if an event throws, it is redone
 * with one savepoint per event so that only the poison event is parked, with its error.
 */
export interface BatchResult {
  readonly checkpoint: bigint | null;
  /** Events this batch applied for the first time (redeliveries excluded; backfilled ones included). */
  readonly applied: readonly RecordedEvent[];
}

export async function applyBatch(context: BatchContext, published: readonly PublishedEvent[]): Promise<BatchResult> {
  const inTransaction = (isolateFailures: boolean) => context.db.transaction().execute((trx) => applyEvents(trx, context, published, isolateFailures));
  try {
    return await inTransaction(false);
  } catch (error) {
    if (!isProjectionFailure(error)) throw error;
    return inTransaction(true);
  }
}

/**
 * The same inside the caller's transaction (a rebuild's batches and its switch): a savepoint stands in for the
 * retry, so a poison event is parked and the rest of the batch still applies.
 */
export async function applyBatchWithin(trx: Transaction<Database>, context: Omit<BatchContext, 'db'>, published: readonly PublishedEvent[]): Promise<BatchResult> {
  await sql`SAVEPOINT projection_batch`.execute(trx);
  try {
    const result = await applyEvents(trx, context, published, false);
    await sql`RELEASE SAVEPOINT projection_batch`.execute(trx);
    return result;
  } catch (error) {
    if (!isProjectionFailure(error)) throw error;
    await sql`ROLLBACK TO SAVEPOINT projection_batch`.execute(trx);
    return applyEvents(trx, context, published, true);
  }
}

const isProjectionFailure = (error: unknown): boolean => !isConnectionError(error) && error instanceof ProjectionFailure;

class ProjectionFailure extends Error {
  constructor(readonly event: RecordedEvent, readonly original: unknown) {
    super(`projection failed on event ${event.id}`, { cause: original });
  }
}

async function applyEvents(trx: Transaction<Database>, context: Omit<BatchContext, 'db'>, published: readonly PublishedEvent[], isolateFailures: boolean): Promise<BatchResult> {
  const { projection } = context;
  // One round trip creates the row if missing, locks it (as FOR UPDATE would: one batch at a time, even across
  // instances) and returns the checkpoint; the no-op update only exists to take the lock and return the row.
  const row = await trx
    .insertInto('projection_checkpoints')
    .values({ projection: projection.name, position: '0' })
    .onConflict((oc) => oc.column('projection').doUpdateSet({ projection: (eb) => eb.ref('excluded.projection') }))
    .returning('position')
    .executeTakeFirstOrThrow();
  const checkpoint: bigint | null = row.position === '0' ? null : BigInt(row.position);

  // What this batch applies, in log order: redeliveries skipped, gaps in the published log filled from the store.
  const ordered: RecordedEvent[] = [];
  let cursor = checkpoint;
  for (const { event, previous } of published) {
    if (cursor !== null && event.position <= cursor) continue;
    if (previous !== null && (cursor === null || previous > cursor)) {
      context.log.warn({ checkpoint: String(cursor), previous: String(previous), position: String(event.position) }, 'gap in the published log; reading the missing events from the store');
      ordered.push(...(await readBetween(context.store, cursor, event.position)));
    }
    ordered.push(event);
    cursor = event.position;
  }
  const relevant = projection.eventTypes === undefined ? ordered : ordered.filter((e) => projection.eventTypes!.includes(e.type));
  if (context.log.isLevelEnabled('debug')) {
    for (const event of relevant) context.log.debug({ correlationId: event.metadata.correlationId, eventId: event.id, eventType: event.type, position: String(event.position) }, 'applying event');
  }
  if (isolateFailures) {
    for (const event of relevant) await applyIsolated(context, trx, event);
  } else if (projection.applyMany !== undefined && relevant.length > 0) {
    try {
      await projection.applyMany(trx, relevant);
    } catch (error) {
      throw new ProjectionFailure(relevant[0]!, error);
    }
  } else {
    for (const event of relevant) {
      try {
        await projection.apply(trx, event);
      } catch (error) {
        throw new ProjectionFailure(event, error);
      }
    }
  }
  if (cursor !== checkpoint) {
    await trx.updateTable('projection_checkpoints').set({ position: String(cursor), updated_at: sql`now()` }).where('projection', '=', projection.name).execute();
  }
  return { checkpoint: cursor, applied: ordered };
}

async function applyIsolated(context: Omit<BatchContext, 'db'>, trx: Transaction<Database>, event: RecordedEvent): Promise<void> {
  await sql`SAVEPOINT projection_event`.execute(trx);
  try {
    await context.projection.apply(trx, event);
    await sql`RELEASE SAVEPOINT projection_event`.execute(trx);
  } catch (error) {
    if (isConnectionError(error)) throw error;
    await sql`ROLLBACK TO SAVEPOINT projection_event`.execute(trx);
    const message = error instanceof Error ? error.message : String(error);
    projectionParked.inc({ projection: context.projection.name });
    context.log.error({ err: error, eventId: event.id, eventType: event.type, position: String(event.position), correlationId: event.metadata.correlationId }, 'poison event parked');
    await trx
      .insertInto('projection_parked_events')
      .values({
        projection: context.projection.name,
        position: String(event.position),
        event_id: event.id,
        stream_id: event.streamId,
        event_type: event.type,
        envelope: JSON.stringify(toWire(event)),
        error: message,
      })
      .onConflict((oc) => oc.columns(['projection', 'event_id']).doNothing())
      .execute();
  }
}

/** Events strictly after `after` and strictly before `before`, from the store. */
async function readBetween(store: EventStore, after: bigint | null, before: bigint): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, maxCount: 1_000 });
    for (const event of page) {
      if (event.position >= before) return out;
      out.push(event);
    }
    if (page.length < 1_000) return out;
    cursor = page[page.length - 1]!.position;
  }
}
