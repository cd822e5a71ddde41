import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll } from 'vitest';

export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Prefixes made in this test file and connections opened by useNats. vitest ignores hooks registered inside
 * another hook (these helpers are mostly called from beforeAll), so one file-level afterAll, registered when
 * this module is first imported by the file, deletes the JetStream streams of every prefix and closes them.
 */
const prefixes = new Set<string>();
const connections: NatsConnection[] = [];
afterAll(async () => {
  if (prefixes.size > 0) {
    const nc = await connect({ servers: TEST_NATS_URL, name: 'test-cleanup' });
    const jsm = await jetstreamManager(nc);
    const mine = [...prefixes].map((p) => p.toLowerCase());
    for await (const name of jsm.streams.names()) {
      if (mine.some((p) => name.toLowerCase().startsWith(p))) await jsm.streams.delete(name).catch(() => {});
    }
    await nc.close();
  }
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
});

/** A subject prefix unique to one test file: its JetStream streams and consumers are named after it. */
export function uniquePrefix(label: string): string {
  const prefix = `t${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 16)}${randomBytes(3).toString('hex')}`;
  prefixes.add(prefix);
  return prefix;
}

/** Connects to the machine's NATS; after the file, the connection is closed and every stream of this file's prefixes deleted. */
export async function useNats(prefix: string): Promise<NatsConnection> {
  prefixes.add(prefix);
  const nc = await connect({ servers: TEST_NATS_URL, name: `test-${prefix}` });
  connections.push(nc);
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
