import { AckPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { fromWire, HEADER_PREVIOUS_POSITION, HEADER_TRACEPARENT, type WireEvent } from '../../eventstore/envelope.js';
import { withBatchSpan, type TracedMessage } from '../../infra/spans.js';
import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import { consumeDurable, eventSubjects } from '../../infra/jetstream.js';
import { LeaderLoop, Leadership } from '../../infra/leadership.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../db/schema.js';
import { applyBatch, type Projection } from './applyBatch.js';
import { announceChanges } from './changes.js';
import { nextWithin } from '../../infra/async.js';
import { projectionApplied } from '../../infra/metrics.js';

export type { Projection } from './applyBatch.js';

export interface ProjectionRunnerOptions {
  readonly projection: Projection;
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly nats: NatsConnection;
  readonly prefix: string;
  /** The source of truth, read when a gap in the published log is noticed. */
  readonly store: EventStore;
  readonly logger: Logger;
  readonly batchSize?: number;
  readonly standbyRetryMs?: number;
}

export interface ProjectionStatus {
  readonly projection: string;
  readonly active: boolean;
  readonly checkpoint: bigint | null;
  readonly lastBatchAt: Date | null;
  readonly lastError: string | null;
}

/**
 * Runs one projection from its durable JetStream consumer: batches are applied in one PostgreSQL transaction
 * together with the checkpoint, then acknowledged, so a redelivered event is skipped by position. One instance
 * per projection is active at a time (advisory lock), which keeps per-stream order.
 */
export class ProjectionRunner {
  private readonly leadership: Leadership;
  private readonly log: Logger;
  private readonly leaderLoop: LeaderLoop;
  private messages: ConsumerMessages | null = null;
  private state: { active: boolean; checkpoint: bigint | null; lastBatchAt: Date | null; lastError: string | null } = {
    active: false,
    checkpoint: null,
    lastBatchAt: null,
    lastError: null,
  };

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.leadership = new Leadership(options.pool, `projection:${options.prefix}:${options.projection.name}`);
    this.log = options.logger.child({ component: 'projector', projection: options.projection.name });
    this.leaderLoop = new LeaderLoop({
      leadership: this.leadership,
      log: this.log,
      lead: () => this.consumeAsLeader(),
      interruptedMessage: 'projection interrupted; resuming from its checkpoint',
      standbyRetryMs: options.standbyRetryMs,
      onActive: (active) => (this.state.active = active),
      onError: (error) => (this.state.lastError = error instanceof Error ? error.message : String(error)),
    });
  }

  get name(): string {
    return this.options.projection.name;
  }

  /** Durable consumer name: one per engine prefix and projection. */
  get consumerName(): string {
    return `${this.options.prefix}_proj_${this.options.projection.name}`;
  }

  get status(): ProjectionStatus {
    return { projection: this.name, ...this.state };
  }

  start(): void {
    this.leaderLoop.start();
  }

  async stop(): Promise<void> {
    await this.leaderLoop.stop(async () => this.messages?.close().catch(() => {}));
  }

  private async consumeAsLeader(): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    // consume() keeps pulling in the background; a batch is what has arrived (within BATCH_LINGER_MS of each
    // other) by the time the previous one is applied: one event when idle (no waiting for a fetch to expire),
    // up to batchSize under load.
    const { nats, prefix } = this.options;
    const messages = await consumeDurable(
      nats,
      prefix,
      { durable_name: this.consumerName, ack_policy: AckPolicy.All, filter_subject: eventSubjects(prefix), ack_wait: 30_000_000_000, max_ack_pending: 20_000 },
      batchSize * 2,
    );
    this.messages = messages;
    // stop() may have run while consume() was being set up; it could not close what did not exist yet.
    if (this.leaderLoop.stopping) await messages.close().catch(() => {});
    let lost = false;
    void this.leadership.lost.then(() => {
      lost = true;
      void messages.close();
    });
    const iterator = messages[Symbol.asyncIterator]();
    try {
      let next = iterator.next();
      for (;;) {
        const first = await next;
        if (first.done === true) break;
        const batch: JsMsg[] = [first.value];
        next = iterator.next();
        let ended = false;
        while (batch.length < batchSize) {
          const more = await nextWithin(next, BATCH_LINGER_MS);
          if (more === null) break; // nothing more has arrived: apply what we have
          if (more.done === true) {
            ended = true;
            break;
          }
          batch.push(more.value);
          next = iterator.next();
        }
        try {
          await this.handle(batch);
        } catch (error) {
          // Nothing was committed: have JetStream redeliver the batch soon, then resume from the checkpoint.
          for (const m of batch) m.nak(1_000);
          throw error;
        }
        batch[batch.length - 1]!.ack(); // AckPolicy.All: acknowledges the whole batch
        if (ended || this.leaderLoop.stopping || lost) break;
      }
    } finally {
      this.messages = null;
      // End the iterator first: close() waits until the messages pulled ahead are consumed, so after a failed
      // batch (with more pulled) it would never settle and this runner would hang, silent, for good. Found by
      // test/faults/postgresRestart.faults.ts.
      await iterator.return?.();
      await messages.close().catch(() => {});
    }
    if (lost) throw new Error('lost the projection lock (database connection closed)');
  }

  private async handle(messages: readonly JsMsg[]): Promise<void> {
    const published: PublishedEvent[] = [];
    const traced: TracedMessage[] = [];
    for (const message of messages) {
      try {
        const event = fromWire(message.json<WireEvent>());
        const previous = message.headers?.get(HEADER_PREVIOUS_POSITION) ?? '';
        published.push({ event, previous: previous === '' ? null : BigInt(previous) });
        traced.push({ traceparent: message.headers?.get(HEADER_TRACEPARENT), correlationId: event.metadata.correlationId });
      } catch (error) {
        // Not something our relay publishes: nothing to apply or park; the store remains the truth.
        this.log.error({ err: error, subject: message.subject, seq: message.seq }, 'skipping a message that is not an event envelope');
      }
    }
    const result = await withBatchSpan('projector batch', { 'projection.name': this.name }, traced, () => applyBatch({ ...this.options, log: this.log }, published));
    announceChanges(this.options.nats, this.options.prefix, this.name, result.applied);
    projectionApplied.inc({ projection: this.name }, result.applied.length);
    this.state.checkpoint = result.checkpoint;
    this.state.lastBatchAt = new Date();
    this.state.lastError = null;
  }

}

/** How long a batch waits for one more message that is not there yet (latency when idle vs. batch size). */
const BATCH_LINGER_MS = 2;

export interface PublishedEvent {
  readonly event: RecordedEvent;
  /** The position of the event published before this one (null for the first ever). */
  readonly previous: bigint | null;
}
