import { DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerConfig, type ConsumerMessages, type StreamInfo } from '@nats-io/jetstream';
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

/**
 * Creates (or updates) a durable consumer of the events stream, delivering from the start, and starts consuming
 * it (the client keeps up to `maxMessages` pulled ahead). Used by every follower of the published log.
 */
export async function consumeDurable(
  nc: NatsConnection,
  prefix: string,
  config: Pick<ConsumerConfig, 'durable_name' | 'ack_policy' | 'filter_subject' | 'ack_wait' | 'max_ack_pending'>,
  maxMessages: number,
): Promise<ConsumerMessages> {
  await ensureEventStream(nc, prefix);
  const stream = eventStreamName(prefix);
  await (await jetstreamManager(nc)).consumers.add(stream, { ...config, deliver_policy: DeliverPolicy.All });
  const consumer = await jetstream(nc).consumers.get(stream, config.durable_name);
  return consumer.consume({ max_messages: maxMessages });
}
