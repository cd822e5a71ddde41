import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { PlannedEvent } from './payloads.js';

const ROWS_PER_CHUNK = 1_000;

/**
 * One `COPY <table> FROM STDIN` of events as rows shaped exactly like `es_events` (position, id, stream_id,
 * revision, type, data, metadata, recorded_at), positions numbered from `firstPosition`. Serializes the events
 * (JSON, ids, timestamps) while streaming, as the store has to. Returns the number of rows copied.
 * Usable both as the append baseline and to seed a large log quickly for read-side benchmarks.
 */
export async function copyEvents(
  client: pg.PoolClient | pg.Client,
  table: string,
  events: readonly PlannedEvent[],
  firstPosition = 1,
): Promise<number> {
  const stream = client.query(
    copyFrom(`COPY ${table} (position, id, stream_id, revision, type, data, metadata, recorded_at) FROM STDIN`),
  );
  await pipeline(Readable.from(rows(events, firstPosition)), stream);
  return stream.rowCount;
}

function* rows(events: readonly PlannedEvent[], firstPosition: number): Generator<string> {
  for (let start = 0; start < events.length; start += ROWS_PER_CHUNK) {
    const recordedAt = new Date().toISOString();
    let chunk = '';
    for (let i = start; i < Math.min(events.length, start + ROWS_PER_CHUNK); i++) {
      const { streamId, revision, event } = events[i]!;
      chunk += `${firstPosition + i}\t${event.id ?? randomUUID()}\t${escapeCopy(streamId)}\t${revision}\t${escapeCopy(event.type)}\t`;
      chunk += `${escapeCopy(JSON.stringify(event.data))}\t${escapeCopy(JSON.stringify(event.metadata))}\t${recordedAt}\n`;
    }
    yield chunk;
  }
}

const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** COPY text format: backslash, newline, carriage return and tab must be escaped. */
function escapeCopy(value: string): string {
  return value.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!);
}
