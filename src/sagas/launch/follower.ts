import { AckPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { campaignIdOfStream } from '../../domain/campaigns/events.js';
import { fromWire, HEADER_TRACEPARENT, type WireEvent } from '../../eventstore/envelope.js';
import { withBatchSpan } from '../../infra/spans.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import { consumeDurable } from '../../infra/jetstream.js';
import { LeaderLoop, Leadership } from '../../infra/leadership.js';
import type { Logger } from '../../infra/logger.js';
import { cancelLaunch, pauseLaunch, resumeLaunch, startLaunch } from './orchestration.js';
import type { SagaRuntime } from './runtime.js';
import { followWinner } from './testPhase.js';

export interface FollowerOptions {
  readonly runtime: SagaRuntime;
  readonly nats: NatsConnection;
  readonly pool: pg.Pool;
  readonly prefix: string;
  readonly logger: Logger;
  /** Called with a campaign whose launch was started, resumed or given its winner: the worker drives it now instead of at its next poll. */
  readonly touched: (campaignId: string) => void;
  readonly standbyRetryMs?: number;
}

/**
 * Follows campaign events (`<prefix>.events.campaign.>`) through a durable JetStream consumer, like a projection
 * runner: one active follower at a time (advisory lock), one message in flight (max_ack_pending 1), so a
 * campaign's events are reacted to in order. Each reaction is a command with a command id derived from the
 * campaign event's id, so a redelivered event (after a crash before the ack) decides nothing new; events at or
 * below the last handled position are skipped without reading anything.
 */
export class CampaignEventFollower {
  private readonly leadership: Leadership;
  private readonly log: Logger;
  private readonly leaderLoop: LeaderLoop;
  private messages: ConsumerMessages | null = null;
  private lastPosition: bigint | null = null;

  constructor(private readonly options: FollowerOptions) {
    this.leadership = new Leadership(options.pool, `launch-saga-follower:${options.prefix}`);
    this.log = options.logger.child({ component: 'launch-saga-follower' });
    this.leaderLoop = new LeaderLoop({
      leadership: this.leadership,
      log: this.log,
      lead: () => this.consume(),
      interruptedMessage: 'following campaign events interrupted; resuming',
      standbyRetryMs: options.standbyRetryMs,
    });
  }

  get consumerName(): string {
    return `${this.options.prefix}_saga_launch`;
  }

  start(): void {
    this.leaderLoop.start();
  }

  async stop(): Promise<void> {
    await this.leaderLoop.stop(async () => this.messages?.close().catch(() => {}));
  }

  private async consume(): Promise<void> {
    const { nats, prefix } = this.options;
    const messages = await consumeDurable(
      nats,
      prefix,
      {
        durable_name: this.consumerName,
        ack_policy: AckPolicy.Explicit,
        filter_subject: `${prefix}.events.campaign.>`,
        ack_wait: this.options.runtime.settings.followerAckWaitMs * 1_000_000,
        max_ack_pending: 1,
      },
      10,
    );
    this.messages = messages;
    // stop() may have run while the consumer was being set up, before there was anything to close.
    if (this.leaderLoop.stopping) void messages.close().catch(() => {});
    void this.leadership.lost.then(() => void messages.close());
    try {
      for await (const message of messages) {
        try {
          await this.handleTraced(message);
          message.ack();
        } catch (error) {
          // Nothing was decided for it (or what was is idempotent): JetStream delivers it again shortly.
          message.nak(1_000);
          throw error;
        }
        if (this.leaderLoop.stopping) break;
      }
    } finally {
      this.messages = null;
      await messages.close().catch(() => {});
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    let event: RecordedEvent;
    try {
      event = fromWire(message.json<WireEvent>());
    } catch (error) {
      this.log.error({ err: error, subject: message.subject }, 'skipping a message that is not an event envelope');
      return;
    }
    if (this.lastPosition !== null && event.position <= this.lastPosition) return;
    const rt = this.options.runtime;
    const campaignId = campaignIdOfStream(event.streamId);
    switch (event.type) {
      case 'CampaignLaunched':
        if (await startLaunch(rt, event)) this.options.touched(campaignId);
        break;
      case 'CampaignPaused':
        await pauseLaunch(rt, event);
        break;
      case 'CampaignResumed':
        await resumeLaunch(rt, event);
        this.options.touched(campaignId);
        break;
      case 'CampaignCancelled':
        await cancelLaunch(rt, event);
        this.options.touched(campaignId);
        break;
      case 'CampaignWinnerChosen':
        // The winner round (the poll would start it too: driveLaunch on a testing launch does the same step).
        if (await followWinner(rt, event, campaignId)) this.options.touched(campaignId);
        break;
      default:
        break;
    }
    this.lastPosition = event.position;
  }

  /** The reaction to one campaign event, in a span continuing the event's trace when it carries one. */
  private handleTraced(message: JsMsg): Promise<void> {
    const traceparent = message.headers?.get(HEADER_TRACEPARENT);
    if (traceparent === undefined || traceparent === '') return this.handle(message);
    let correlationId = '';
    try {
      correlationId = String(message.json<Partial<WireEvent>>()?.metadata?.correlationId ?? '');
    } catch {
      // not an envelope: handle() logs and skips it
    }
    const attributes = { 'saga.name': 'launch', 'messaging.destination.name': message.subject };
    return withBatchSpan(`saga launch ${message.subject.split('.').at(-1)}`, attributes, [{ traceparent, correlationId }], () => this.handle(message));
  }
}
