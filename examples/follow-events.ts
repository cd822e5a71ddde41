/**
 * Example subscriber: follows one category of the engine's events (e.g. campaigns) with a durable JetStream
 * consumer, starting after a given position, and prints one JSON line per event.
 *
 *   node --import tsx examples/follow-events.ts --category campaign --from 0 --durable my-service
 *
 * Env: NATS_URL (default nats://127.0.0.1:4222), NATS_PREFIX (default mkt).
 *
 * What a real subscriber should copy from it:
 * - A durable consumer remembers what was acknowledged: restart it with the same --durable and it resumes.
 * - Delivery is at least once: skip events at or below the last position you applied (here: --from, then
 *   each event's own position), or de-duplicate by event id.
 * - Mkt-Previous-Position tells you when an event before this one never reached you; a real service then
 *   reads the missing range from the event store's GraphQL/export API before applying this event.
 */
import { parseArgs } from 'node:util';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const { values } = parseArgs({
  options: {
    category: { type: 'string' },
    from: { type: 'string', default: '0' },
    durable: { type: 'string' },
    'idle-exit-ms': { type: 'string' },
  },
});
if (values.category === undefined || values.durable === undefined || !/^\d+$/.test(values.from ?? '')) {
  process.stderr.write('usage: follow-events.ts --category <campaign|contact|...> --durable <name> [--from <position>] [--idle-exit-ms <ms>]\n');
  process.exit(2);
}
const prefix = process.env.NATS_PREFIX ?? 'mkt';
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const stream = `${prefix}_events`;
await (await jetstreamManager(nc)).consumers.add(stream, {
  durable_name: values.durable,
  filter_subject: `${prefix}.events.${values.category}.>`,
  deliver_policy: DeliverPolicy.All,
  ack_policy: AckPolicy.Explicit,
});
const consumer = await jetstream(nc).consumers.get(stream, values.durable);
let lastApplied = BigInt(values.from!);
const idleExitMs = values['idle-exit-ms'] === undefined ? undefined : Number(values['idle-exit-ms']);

for (;;) {
  const batch = await consumer.fetch({ max_messages: 100, expires: Math.max(1_000, idleExitMs ?? 5_000) });
  let received = 0;
  for await (const message of batch) {
    received++;
    const event = message.json<{ id: string; type: string; streamId: string; position: string; data: unknown }>();
    const position = BigInt(event.position);
    const previous = message.headers?.get('Mkt-Previous-Position') ?? '';
    if (position > lastApplied) {
      process.stdout.write(`${JSON.stringify({ position: event.position, type: event.type, streamId: event.streamId, previous })}\n`);
      lastApplied = position;
    }
    message.ack();
  }
  if (received === 0 && idleExitMs !== undefined) break;
}
await nc.drain();
