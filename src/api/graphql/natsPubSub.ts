import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Readable } from 'node:stream';

/** mercurius' typings say `close: () => void`; at run time it is the list of closers it calls on unsubscribe. */
type Queue = Readable & { close: () => void };

/**
 * mercurius' pubsub on core NATS: a GraphQL subscription's topic is a NATS subject (wildcards allowed), and
 * every message's JSON body is pushed to the subscriber's queue. Used for read-model change notices
 * (src/projections/runner/changes.ts), so any API instance serves live updates.
 */
export class NatsPubSub {
  /** Required by mercurius' CustomPubSub interface; unused, NATS does the fan-out. */
  readonly emitter = new EventEmitter();

  constructor(private readonly nats: NatsConnection) {}

  subscribe(topic: string | string[], queue: Queue): Promise<void> {
    const subscriptions: Subscription[] = (Array.isArray(topic) ? topic : [topic]).map((subject) =>
      this.nats.subscribe(subject, {
        callback: (error, message) => {
          if (error !== null || queue.destroyed || queue.readableEnded) return;
          try {
            queue.push(message.json());
          } catch {
            // Not JSON: not ours to deliver.
          }
        },
      }),
    );
    const closers = queue as unknown as { close?: (() => void)[] };
    closers.close ??= [];
    closers.close.push(() => subscriptions.forEach((s) => s.unsubscribe()));
    return this.nats.flush();
  }

  publish(event: { topic: string; payload: unknown }, callback: (error?: unknown) => void): void {
    try {
      this.nats.publish(event.topic, JSON.stringify(event.payload));
      callback();
    } catch (error) {
      callback(error);
    }
  }
}
