import type pg from 'pg';
import { EventStoreUnavailableError, InvalidAppendError, WrongExpectedRevisionError } from '../errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  SubscribeAllOptions,
  Subscription,
} from '../port.js';
import { prepareAppend, validateStreamId } from '../validate.js';
import { PollingSubscription } from '../pollingSubscription.js';
import { AppendNotifier } from './notifier.js';
import { isConnectionError } from '../../infra/postgres.js';

export interface PostgresEventStoreOptions {
  readonly pool: pg.Pool;
  /** How often an idle subscription re-reads even without a notification (a safety net). */
  readonly idlePollMs?: number;
}

interface EventRow {
  position: string;
  id: string;
  stream_id: string;
  revision: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

const COLUMNS = 'position, id, stream_id, revision, type, data, metadata, recorded_at';

export function createPostgresEventStore(options: PostgresEventStoreOptions): EventStore {
  return new PostgresEventStore(options);
}

class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly notifier: AppendNotifier;
  private readonly idlePollMs: number;

  constructor(options: PostgresEventStoreOptions) {
    this.pool = options.pool;
    this.idlePollMs = options.idlePollMs ?? 1_000;
    this.notifier = new AppendNotifier(options.pool);
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, options);
    try {
      const { rows } = await this.pool.query<{ next_revision: string; last_position: string }>(
        'SELECT next_revision, last_position FROM es_append($1, $2, $3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])',
        [
          streamId,
          String(options.expectedRevision),
          prepared.map((e) => e.id),
          prepared.map((e) => e.type),
          prepared.map((e) => e.dataJson),
          prepared.map((e) => e.metadataJson),
        ],
      );
      const row = rows[0]!;
      return { nextExpectedRevision: Number(row.next_revision), position: BigInt(row.last_position) };
    } catch (error) {
      throw mapError(error, streamId, options);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    validateStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const conditions = ['stream_id = $1'];
    const params: unknown[] = [streamId];
    const bound = (op: string, value: unknown) => {
      params.push(value);
      conditions.push(`${op}$${params.length}`);
    };
    if (options.fromRevision !== undefined) bound(backwards ? 'revision <= ' : 'revision >= ', options.fromRevision);
    if (options.toRevision !== undefined) bound(backwards ? 'revision >= ' : 'revision <= ', options.toRevision);
    if (options.until !== undefined) bound('recorded_at <= ', options.until);
    let limit = '';
    if (options.maxCount !== undefined) {
      params.push(options.maxCount);
      limit = `LIMIT $${params.length}`;
    }
    const sql = `SELECT ${COLUMNS} FROM es_events WHERE ${conditions.join(' AND ')}
                 ORDER BY revision ${backwards ? 'DESC' : 'ASC'} ${limit}`;
    try {
      const { rows } = await this.pool.query<EventRow>(sql, params);
      if (rows.length > 0) return { status: 'found', events: rows.map(toRecorded) };
      // Empty: not found, or a range past the end. Re-read with the existence check in one snapshot, so a
      // stream created between two statements cannot look "found but empty".
      return await this.readInOneSnapshot(streamId, sql, params);
    } catch (error) {
      throw mapError(error, streamId);
    }
  }

  private async readInOneSnapshot(streamId: string, sql: string, params: unknown[]): Promise<ReadStreamResult> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<EventRow>(sql, params);
      const exists = await client.query('SELECT 1 FROM es_streams WHERE stream_id = $1 AND revision >= 0', [streamId]);
      await client.query('COMMIT');
      return exists.rowCount === 0 ? { status: 'not_found', streamId } : { status: 'found', events: rows.map(toRecorded) };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async readAll(options: ReadAllOptions): Promise<readonly RecordedEvent[]> {
    try {
      const { rows } = await this.pool.query<EventRow>(
        `SELECT ${COLUMNS} FROM es_events WHERE position > $1 ORDER BY position LIMIT $2`,
        [String(options.after ?? 0n), options.maxCount],
      );
      return rows.map(toRecorded);
    } catch (error) {
      throw mapError(error);
    }
  }

  subscribeAll(options: SubscribeAllOptions = {}): Subscription {
    return new PollingSubscription({
      after: options.after ?? null,
      readAll: (o) => this.readAll(o),
      waitForAppend: (ms) => this.notifier.waitForAppend(ms),
      idlePollMs: this.idlePollMs,
    });
  }

  async headPosition(): Promise<bigint | null> {
    try {
      const { rows } = await this.pool.query<{ position: string | null }>('SELECT max(position) AS position FROM es_events');
      const position = rows[0]?.position ?? null;
      return position === null ? null : BigInt(position);
    } catch (error) {
      throw mapError(error);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1 FROM es_streams LIMIT 1');
    } catch (error) {
      throw mapError(error);
    }
  }

  async close(): Promise<void> {
    await this.notifier.close();
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: BigInt(row.position),
    recordedAt: row.recorded_at,
    data: row.data,
    metadata: row.metadata,
  };
}

function mapError(error: unknown, streamId?: string, options?: AppendOptions): unknown {
  const pgError = error as { code?: string; detail?: string; message?: string };
  if (pgError.code === 'ES409' && streamId !== undefined && options !== undefined) {
    const actual = pgError.detail === 'no_stream' ? 'no_stream' : Number(pgError.detail);
    return new WrongExpectedRevisionError(streamId, options.expectedRevision, actual);
  }
  if (pgError.code === 'ES400') return new InvalidAppendError(pgError.message ?? 'invalid append', pgError.detail ?? 'events');
  if (isConnectionError(pgError)) {
    return new EventStoreUnavailableError(`PostgreSQL event store unavailable: ${pgError.message ?? String(error)}`, { cause: error });
  }
  return error;
}
