import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll } from 'vitest';

export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A subject prefix unique to one test file: its JetStream streams and consumers are named after it. */
export function uniquePrefix(label: string): string {
  return `t${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 16)}${randomBytes(3).toString('hex')}`;
}

/** Connects to the machine's NATS and, after the file, deletes every JetStream stream named after `prefix`. */
export async function useNats(prefix: string): Promise<NatsConnection> {
  const nc = await connect({ servers: TEST_NATS_URL, name: `test-${prefix}` });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.toLowerCase().startsWith(prefix.toLowerCase())) await jsm.streams.delete(name);
    }
    await nc.close();
  });
  return nc;
}

export interface StoredMessage {
  readonly subject: string;
  readonly seq: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** Every message currently in a JetStream stream, in stream order (an ordered consumer; nothing is acked). */
export async function readStreamMessages(nc: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const { jetstream } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const total = info.state.messages;
  const out: StoredMessage[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 500 });
  for await (const m of messages) {
    const headers: Record<string, string> = {};
    for (const key of m.headers?.keys() ?? []) headers[key] = m.headers!.get(key);
    out.push({ subject: m.subject, seq: m.seq, headers, body: m.json() });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}
