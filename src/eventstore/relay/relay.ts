import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from '../../infra/logger.js';
import { LeaderLoop, Leadership } from '../../infra/leadership.js';
import { ensureEventStream } from '../../infra/jetstream.js';
import type { Database } from '../../projections/db/schema.js';
import { eventSubject, HEADER_POSITION, HEADER_PREVIOUS_POSITION, HEADER_TRACEPARENT, toWire } from '../envelope.js';
import type { EventStore, RecordedEvent, Subscription } from '../port.js';
import { readRelayCheckpoint, writeRelayCheckpoint } from './checkpoint.js';
import { relayPublished } from '../../infra/metrics.js';
import { SpanKind, startSpan, traceparentOf } from '../../infra/spans.js';

export interface RelayOptions {
  readonly store: EventStore;
  /** Read-side database: the checkpoint table and the leadership lock. */
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly nats: NatsConnection;
  readonly prefix: string;
  readonly logger: Logger;
  readonly name?: string;
  /** Publishes awaiting their acknowledgement before the relay waits for them. */
  readonly maxInFlight?: number;
  /** How often acknowledged publishes are checkpointed while events keep coming. */
  readonly checkpointEveryMs?: number;
  /** How long a standby waits before trying to become the active relay again. */
  readonly standbyRetryMs?: number;
  /** Fault injection for tests: called after an event was handed to JetStream, before its checkpoint. */
  readonly afterPublish?: (event: RecordedEvent) => void | Promise<void>;
}

export interface RelayStatus {
  readonly active: boolean;
  readonly lastPublished: bigint | null;
  readonly checkpoint: bigint | null;
  readonly lastError: string | null;
}

interface InFlight {
  readonly position: bigint;
  readonly ack: Promise<PubAck>;
}

/**
 * Relays the store's global log to JetStream, in order, with `Nats-Msg-Id` = event id so that republishing
 * after a crash (events published but not yet checkpointed) is dropped by JetStream's de-duplication.
 * One relay is active at a time (advisory lock); the others stand by.
 */
export class Relay {
  private readonly name: string;
  /** Checkpoint row: one per events stream (prefix) and relay name. */
  readonly checkpointKey: string;
  private readonly leadership: Leadership;
  private readonly js: JetStreamClient;
  private readonly log: Logger;
  private readonly leaderLoop: LeaderLoop;
  private subscription: Subscription | null = null;
  private state: { active: boolean; lastPublished: bigint | null; checkpoint: bigint | null; lastError: string | null } = {
    active: false,
    lastPublished: null,
    checkpoint: null,
    lastError: null,
  };

  constructor(private readonly options: RelayOptions) {
    this.name = options.name ?? 'default';
    this.checkpointKey = `${options.prefix}/${this.name}`;
    this.leadership = new Leadership(options.pool, `relay:${options.prefix}:${this.name}`);
    this.js = jetstream(options.nats);
    this.log = options.logger.child({ component: 'relay', relay: this.name });
    this.leaderLoop = new LeaderLoop({
      leadership: this.leadership,
      log: this.log,
      lead: () => this.relayAsLeader(),
      interruptedMessage: 'relay interrupted; resuming from its checkpoint',
      standbyRetryMs: options.standbyRetryMs,
      onActive: (active) => {
        this.state.active = active;
        if (active) this.log.info('active relay');
      },
      onError: (error) => (this.state.lastError = error instanceof Error ? error.message : String(error)),
    });
  }

  get status(): RelayStatus {
    return { ...this.state };
  }

  start(): void {
    this.leaderLoop.start();
  }

  async stop(): Promise<void> {
    await this.leaderLoop.stop(async () => this.subscription?.close());
  }

  private async relayAsLeader(): Promise<void> {
    const { db, store, prefix } = this.options;
    const info = await ensureEventStream(this.options.nats, prefix);
    let checkpoint = await readRelayCheckpoint(db, this.checkpointKey);
    if (checkpoint !== null && info.state.messages === 0) {
      // The JetStream stream was lost or purged: it is derived, so refill it from the store.
      this.log.warn({ checkpoint: String(checkpoint) }, 'events stream is empty although events were relayed; replaying from the start');
      checkpoint = null;
      await writeRelayCheckpoint(db, this.checkpointKey, 0n, { allowBackwards: true });
    }
    this.state.checkpoint = checkpoint;
    let previous = checkpoint;
    const inFlight: InFlight[] = [];
    let failure: unknown = null;
    let flushing: Promise<void> = Promise.resolve();

    const flush = () =>
      (flushing = flushing.then(async () => {
        if (failure !== null || inFlight.length === 0) return;
        const batch = inFlight.splice(0, inFlight.length);
        try {
          for (const entry of batch) await entry.ack;
          const last = batch[batch.length - 1]!.position;
          await writeRelayCheckpoint(db, this.checkpointKey, last);
          this.state.checkpoint = last;
        } catch (error) {
          failure = error;
          await this.subscription?.close();
        }
      }));

    const subscription = store.subscribeAll({ after: checkpoint });
    this.subscription = subscription;
    const timer = setInterval(() => void flush(), this.options.checkpointEveryMs ?? 100);
    void this.leadership.lost.then(() => {
      failure ??= new Error('lost the relay lock (database connection closed)');
      return subscription.close();
    });
    try {
      for await (const event of subscription) {
        const headers = natsHeaders();
        headers.set(HEADER_POSITION, event.position.toString());
        headers.set(HEADER_PREVIOUS_POSITION, previous === null ? '' : previous.toString());
        const subject = eventSubject(prefix, event);
        // Only events appended inside a sampled trace carry a traceparent; the publish span continues that trace.
        const span = event.metadata.traceparent === undefined ? undefined : startSpan('relay publish', { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'event.id': event.id, 'event.type': event.type, 'event.position': event.position.toString(), 'correlation.id': event.metadata.correlationId }, { parent: event.metadata.traceparent, kind: SpanKind.PRODUCER });
        const traceparent = span === undefined ? undefined : traceparentOf(span);
        if (traceparent !== undefined) headers.set(HEADER_TRACEPARENT, traceparent);
        const ack = this.js.publish(subject, JSON.stringify(toWire(event)), { msgID: event.id, headers });
        ack.then(() => span?.end(), () => span?.end()); // also observed in flush; this prevents an unhandled-rejection warning meanwhile
        inFlight.push({ position: event.position, ack });
        relayPublished.inc();
        previous = event.position;
        this.state.lastPublished = event.position;
        if (this.options.afterPublish !== undefined) await this.options.afterPublish(event);
        if (inFlight.length >= (this.options.maxInFlight ?? 1_000)) await flush();
        if (failure !== null) break;
      }
    } finally {
      clearInterval(timer);
      await subscription.close();
      await flush();
      this.subscription = null;
    }
    if (failure !== null) throw failure;
  }

}
