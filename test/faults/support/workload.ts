/**
 * A business workload for the fault tests, written through the real deciders and the command handler as the API
 * would: contacts (created concurrently, tagged, updated, unsubscribed), segments, templates and campaigns, so
 * that every projection has work. A command that fails with a retryable error (EVENT_STORE_UNAVAILABLE while the
 * database restarts, a conflict) is retried with the same commandId, as a client should; the command handler then
 * either appends it once or finds it already appended.
 */
import { randomUUID } from 'node:crypto';
import type { ContactCommand } from '../../../src/domain/contacts/commands.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { segmentDecider } from '../../../src/domain/segments/decide.js';
import { segmentSchemaVersionOf } from '../../../src/domain/segments/events.js';
import type { CommandContext } from '../../../src/domain/shared/decider.js';
import { templateDecider } from '../../../src/domain/templates/decide.js';
import { templateSchemaVersionOf, templateStreamId } from '../../../src/domain/templates/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { EventStoreError } from '../../../src/eventstore/errors.js';
import type { EventStore } from '../../../src/eventstore/port.js';
import { runCampaignCommand } from '../../../src/sagas/launch/streams.js';

const SENDER = { email: 'news@faults.example.com', name: 'Faults' } as const;
const now = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class BusinessWorkload {
  /** Commands that completed (each exactly once, whatever the retries). */
  commands = 0;
  /** Attempts that failed with a retryable error and were repeated with the same commandId. */
  retries = 0;
  /** Command ids of completed commands that appended events, for the exactly-once check. */
  readonly appendedCommandIds: string[] = [];
  private readonly contacts: string[] = [];
  private readonly tag = randomUUID().slice(0, 6);

  constructor(
    private readonly store: EventStore,
    readonly workspaceId: string,
    private readonly options: { readonly retryDelayMs?: number; readonly maxAttempts?: number } = {},
  ) {}

  /** Runs rounds until `stop()` says so (checked between rounds), pausing `pauseMs` between them; returns the number of rounds. */
  async runUntil(stop: () => boolean, maxRounds = 10_000, pauseMs = 0): Promise<number> {
    let round = 0;
    while (!stop() && round < maxRounds) {
      await this.round(round++);
      if (pauseMs > 0) await sleep(pauseMs);
    }
    return round;
  }

  /** One round: 4 contacts at once, changes to earlier ones, and every 4th round a segment, template and campaign. */
  async round(i: number): Promise<void> {
    await Promise.all(Array.from({ length: 4 }, (_, k) => this.createContact(i, k)));
    const earlier = this.contacts[Math.floor(this.contacts.length / 2)]!;
    await this.contact(earlier, { type: 'TagContact', data: { tags: [`vip${i % 2}`], at: now() } });
    await this.contact(earlier, { type: 'UpdateContactAttributes', data: { changes: { score: { type: 'number', value: i } }, at: now() } });
    if (i % 3 === 2) await this.contact(this.contacts[this.contacts.length - 1]!, { type: 'UnsubscribeContact', data: { topic: 'news', source: 'api', reason: null, at: now() } });
    if (i % 4 === 0) await this.catalog(i);
  }

  private async createContact(i: number, k: number): Promise<void> {
    const email = `${this.tag}-${i}-${k}@faults.example.org`;
    const contactId = contactIdFor(this.workspaceId, email);
    await this.contact(contactId, {
      type: 'CreateContact',
      data: {
        contactId,
        email,
        externalId: null,
        phone: null,
        attributes: { plan: { type: 'string', value: k % 2 === 0 ? 'pro' : 'free' }, score: { type: 'number', value: k } },
        tags: [`g${i % 3}`],
        subscriptions: [{ topic: 'news', consentTextVersion: 'v1', source: 'faults' }],
        source: 'faults',
        at: now(),
      },
    });
    this.contacts.push(contactId);
  }

  private contact(contactId: string, command: ContactCommand): Promise<void> {
    return this.run((context) => handleCommand(this.store, contactDecider, contactStreamId(contactId), command, context));
  }

  private async catalog(i: number): Promise<void> {
    const segmentId = `seg-${this.tag}-${i}`;
    await this.run((context) =>
      handleCommand(this.store, segmentDecider, `segment-${segmentId}`, { type: 'DefineSegment', data: { segmentId, name: segmentId, description: null, rules: { all: [{ tag: `g${i % 3}` }, { subscribed: 'news' }] }, at: now() } }, context, {
        schemaVersionOf: segmentSchemaVersionOf,
      }),
    );
    const templateId = randomUUID();
    await this.run((context) =>
      handleCommand(this.store, templateDecider, templateStreamId(templateId), { type: 'CreateTemplate', data: { templateId, name: `t-${i}`, subject: 'Hi {{ contact.email }}', html: '<p>Round {{ contact.email }}</p>', text: null, at: now() } }, context, {
        schemaVersionOf: templateSchemaVersionOf,
      }),
    );
    const campaignId = randomUUID();
    await this.run((context) =>
      runCampaignCommand(this.store, campaignId, { type: 'CreateCampaign', data: { campaignId, name: `c-${i}`, sender: SENDER, replyTo: null, segmentId, templateId, templateVersion: 1, topic: 'news', at: now() } }, context),
    );
    await this.run((context) => runCampaignCommand(this.store, campaignId, { type: 'UpdateCampaign', data: { changes: { name: `c-${i} (renamed)` }, at: now() } }, context));
  }

  private async run(command: (context: CommandContext) => Promise<{ readonly position: bigint | null; readonly duplicate: boolean }>): Promise<void> {
    const context: CommandContext = { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'faults', workspaceId: this.workspaceId };
    const maxAttempts = this.options.maxAttempts ?? 300;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await command(context);
        this.commands++;
        if (result.position !== null) this.appendedCommandIds.push(context.commandId);
        return;
      } catch (error) {
        if (!(error instanceof EventStoreError) || !error.retryable || attempt >= maxAttempts) throw error;
        this.retries++;
        await sleep(this.options.retryDelayMs ?? 100);
      }
    }
  }
}
