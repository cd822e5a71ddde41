import { jetstreamManager, RetentionPolicy, StorageType, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** The JetStream stream that holds every published event of one engine (one NATS_PREFIX). */
export function eventStreamName(prefix: string): string {
  return `${prefix}_events`;
}

export function eventSubjects(prefix: string): string {
  return `${prefix}.events.>`;
}

/** JetStream drops a republished event with the same Nats-Msg-Id inside this window (ns). */
export const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;

/** Creates the events stream if missing; returns its info. Idempotent and safe to race. */
export async function ensureEventStream(nc: NatsConnection, prefix: string): Promise<StreamInfo> {
  const jsm = await jetstreamManager(nc);
  const name = eventStreamName(prefix);
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if ((error as { name?: string; code?: string }).name !== 'StreamNotFoundError' && !isNotFound(error)) throw error;
  }
  try {
    return await jsm.streams.add({
      name,
      subjects: [eventSubjects(prefix)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: DUPLICATE_WINDOW_NS,
      // The event store is the truth; this stream is a derived log that the relay can always refill.
      max_msgs: -1,
      max_bytes: -1,
    });
  } catch (error) {
    // Another instance created it first.
    return jsm.streams.info(name).catch(() => {
      throw error;
    });
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: number | string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || e?.code === 404 || e?.code === '404';
}
