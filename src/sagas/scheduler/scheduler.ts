import type { Kysely } from 'kysely';
import type { CampaignCommand } from '../../domain/campaigns/commands.js';
import { campaignDecider } from '../../domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId } from '../../domain/campaigns/events.js';
import { DomainError } from '../../domain/shared/errors.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import { dueCampaigns, type DueCampaign } from '../../projections/campaigns/queries.js';
import type { Database } from '../../projections/db/schema.js';

export interface CampaignSchedulerOptions {
  readonly store: EventStore;
  /** Read-side database: the campaigns read model says which campaigns are due. */
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** How often due campaigns are looked for. */
  readonly pollIntervalMs?: number;
  /** At most this many launches per poll. */
  readonly batchSize?: number;
  readonly now?: () => Date;
}

export interface CampaignSchedulerStatus {
  readonly running: boolean;
  readonly lastPollAt: Date | null;
  readonly launched: number;
  readonly lastError: string | null;
}

/** The actor of launches the scheduler causes. */
export const SCHEDULER_ACTOR = 'scheduler';

/** How long a handled schedule is skipped: longer than any normal projection lag. */
const HANDLED_MEMORY_MS = 60_000;
const MAX_HANDLED_MEMORY = 10_000;

/** The command id of the launch for one schedule: every scheduler instance derives the same one. */
export const launchCommandId = (campaignId: string, scheduledRevision: number): string => `launch:${campaignId}:${scheduledRevision}`;

/**
 * Launches scheduled campaigns when their time has come. It polls the campaigns read model and sends
 * LaunchCampaign through the command handler with a command id derived from the schedule (campaign id and the
 * stream revision of its CampaignScheduled event). Any number of instances may run: two launches of one
 * schedule carry the same command id, so the second returns the first's result and appends nothing (also when
 * they race: the loser conflicts, re-reads and finds its command id), and the aggregate refuses a launch for a
 * schedule that was since changed or removed. So no leader election is needed, and each schedule launches
 * exactly once.
 */
export class CampaignScheduler {
  private readonly log: Logger;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wakeStop: (() => void) | null = null;
  private state = { lastPollAt: null as Date | null, launched: 0, lastError: null as string | null };
  /**
   * Schedules (`<campaignId>:<revision>`) this instance handled recently, with when: skipped while the read model
   * still shows them as scheduled, so that a poll moves on to other due campaigns instead of repeating them.
   */
  private readonly handled = new Map<string, number>();

  constructor(private readonly options: CampaignSchedulerOptions) {
    this.log = options.logger.child({ component: 'campaign-scheduler' });
  }

  get status(): CampaignSchedulerStatus {
    return { running: this.running !== null, ...this.state };
  }

  start(): void {
    this.stopping = false;
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeStop?.();
    await this.running;
  }

  /**
   * One poll: launches the campaigns due now; returns how many launches this call appended. Another instance
   * appending the identical launch at the same moment may count it too (the store takes an identical re-append
   * as a no-op); the stream still holds one CampaignLaunched.
   */
  async launchDue(): Promise<number> {
    const now = this.options.now?.() ?? new Date();
    this.forgetHandledBefore(Date.now() - HANDLED_MEMORY_MS);
    const due = await dueCampaigns(this.options.db, now, this.options.batchSize ?? 100, [...this.handled.keys()]);
    let launched = 0;
    for (const campaign of due) {
      if (this.stopping) break;
      if (await this.launch(campaign, now)) launched++;
      this.handled.set(`${campaign.id}:${campaign.scheduledRevision}`, Date.now());
    }
    this.state.lastPollAt = now;
    this.state.launched += launched;
    return launched;
  }

  private forgetHandledBefore(cutoff: number): void {
    for (const [key, at] of this.handled) {
      if (at >= cutoff && this.handled.size <= MAX_HANDLED_MEMORY) break; // insertion order: the rest are newer
      this.handled.delete(key);
    }
  }

  private async launch(campaign: DueCampaign, now: Date): Promise<boolean> {
    const commandId = launchCommandId(campaign.id, campaign.scheduledRevision);
    const log = this.log.child({ correlationId: commandId, campaignId: campaign.id });
    const command: CampaignCommand = { type: 'LaunchCampaign', data: { at: now.toISOString(), by: SCHEDULER_ACTOR, scheduledFor: campaign.scheduledAt.toISOString() } };
    const context = { commandId, correlationId: commandId, causationId: null, actor: SCHEDULER_ACTOR, workspaceId: campaign.workspaceId };
    try {
      const result = await handleCommand(this.options.store, campaignDecider, campaignStreamId(campaign.id), command, context, {
        schemaVersionOf: campaignSchemaVersionOf,
        retriesOnConflict: 3,
      });
      if (!result.duplicate && result.events.length > 0) log.info({ scheduledFor: command.data.scheduledFor, position: String(result.position) }, 'scheduled campaign launched');
      return !result.duplicate && result.events.length > 0;
    } catch (error) {
      // The read model lags behind the stream: the campaign was rescheduled, unscheduled, launched by hand or
      // cancelled meanwhile. The aggregate's answer is the truth; the row catches up shortly.
      if (error instanceof DomainError) {
        log.debug({ code: error.code, reason: error.message }, 'scheduled launch refused');
        return false;
      }
      throw error;
    }
  }

  private async loop(): Promise<void> {
    let backoffMs = 200;
    while (!this.stopping) {
      try {
        await this.launchDue();
        this.state.lastError = null;
        backoffMs = 200;
        await this.sleep(this.options.pollIntervalMs ?? 1_000);
      } catch (error) {
        if (this.stopping) break; // the database going away during shutdown is expected
        this.state.lastError = error instanceof Error ? error.message : String(error);
        this.log.warn({ err: error, retryInMs: backoffMs }, 'scheduler poll failed; retrying');
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const timer = setTimeout(resolve, ms);
      this.wakeStop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
