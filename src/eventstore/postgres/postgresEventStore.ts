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
  StreamAppend,
  SubscribeAllOptions,
  Subscription,
} from '../port.js';
import { prepareAppend, prepareAppendMany, validateStreamId } from '../validate.js';
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
        'SELECT next_revision, last_position FROM es_append($1, $2, $3::uuid[], $4::text[], $5::jsonb, $6::jsonb)',
        [
          streamId,
          String(options.expectedRevision),
          prepared.map((e) => e.id),
          prepared.map((e) => e.type),
          jsonArray(prepared.map((e) => e.dataJson)),
          jsonArray(prepared.map((e) => e.metadataJson)),
        ],
      );
      const row = rows[0]!;
      return { nextExpectedRevision: Number(row.next_revision), position: BigInt(row.last_position) };
    } catch (error) {
      throw mapError(error, streamId, options);
    }
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<readonly AppendResult[]> {
    const prepared = prepareAppendMany(appends);
    const flat = prepared.flatMap((events, streamIndex) => events.map((event, ordinal) => ({ event, streamIndex: streamIndex + 1, ordinal: ordinal + 1 })));
    try {
      const { rows } = await this.pool.query<{ first_position: string; revisions_before: string[] }>(
        `SELECT first_position, revisions_before FROM es_append_many($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb, $7::jsonb, $8::int[], $9::int[])`,
        [
          appends.map((a) => a.streamId),
          appends.map((a) => String(a.expectedRevision)),
          prepared.map((events) => events.length),
          flat.map((f) => f.event.id),
          flat.map((f) => f.event.type),
          jsonArray(flat.map((f) => f.event.dataJson)),
          jsonArray(flat.map((f) => f.event.metadataJson)),
          flat.map((f) => f.streamIndex),
          flat.map((f) => f.ordinal),
        ],
      );
      const row = rows[0]!;
      let position = BigInt(row.first_position) - 1n;
      return prepared.map((events, index) => {
        position += BigInt(events.length);
        return { nextExpectedRevision: Number(row.revisions_before[index]) + events.length, position };
      });
    } catch (error) {
      const pgError = error as { code?: string; detail?: string };
      if (pgError.code === 'ES409' && pgError.detail !== undefined) {
        const [index, actual] = pgError.detail.split(':') as [string, string];
        const append = appends[Number(index)]!;
        throw new WrongExpectedRevisionError(append.streamId, append.expectedRevision, actual === 'no_stream' ? 'no_stream' : Number(actual));
      }
      if (pgError.code === 'ES400') {
        const at = flat[Number(pgError.detail)];
        throw new InvalidAppendError(`event id ${at?.event.id} is already stored`, at === undefined ? 'appends' : `appends[${at.streamIndex - 1}].events[${at.ordinal - 1}].id`);
      }
      throw mapError(error);
    }
  }

  async readStreams(streamIds: readonly string[]): Promise<ReadonlyMap<string, readonly RecordedEvent[]>> {
    streamIds.forEach((id) => validateStreamId(id));
    const result = new Map<string, RecordedEvent[]>();
    if (streamIds.length === 0) return result;
    try {
      const { rows } = await this.pool.query<EventRow>(
        `SELECT ${COLUMNS} FROM es_events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, revision`,
        [streamIds],
      );
      for (const row of rows) {
        const events = result.get(row.stream_id) ?? [];
        events.push(toRecorded(row));
        result.set(row.stream_id, events);
      }
      return result;
    } catch (error) {
      throw mapError(error);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    validateStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const conditions = ['e.stream_id = $1'];
    const params: unknown[] = [streamId];
    const bound = (op: string, value: unknown) => {
      params.push(value);
      conditions.push(`${op}$${params.length}`);
    };
    if (options.fromRevision !== undefined) bound(backwards ? 'e.revision <= ' : 'e.revision >= ', options.fromRevision);
    if (options.toRevision !== undefined) bound(backwards ? 'e.revision >= ' : 'e.revision <= ', options.toRevision);
    if (options.until !== undefined) bound('e.recorded_at <= ', options.until);
    let limit = '';
    if (options.maxCount !== undefined) {
      params.push(options.maxCount);
      limit = `LIMIT $${params.length}`;
    }
    // One statement, one snapshot: the stream row says whether the stream exists (no row: not found), the
    // lateral join its events in range (none: a single row of nulls, found but empty).
    const sql = `SELECT e.position, e.id, e.stream_id, e.revision, e.type, e.data, e.metadata, e.recorded_at
                   FROM es_streams s
                   LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM es_events e WHERE ${conditions.join(' AND ')}
                                       ORDER BY e.revision ${backwards ? 'DESC' : 'ASC'} ${limit}) e ON true
                  WHERE s.stream_id = $1 AND s.revision >= 0`;
    try {
      const { rows } = await this.pool.query<EventRow | { [K in keyof EventRow]: null }>(sql, params);
      if (rows.length === 0) return { status: 'not_found', streamId };
      return { status: 'found', events: rows.filter((row): row is EventRow => row.id !== null).map(toRecorded) };
    } catch (error) {
      throw mapError(error, streamId);
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

/** Already-serialized JSON documents as one JSON array (see es_append in migrations.ts). */
const jsonArray = (documents: readonly string[]): string => `[${documents.join(',')}]`;

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
