/**
 * The demo's data, written as the API would write it: a workspace and key, sample contacts (every tenth one
 * unsubscribed, so not eligible), a segment, a template and a campaign (A/B: two variants).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { issueApiKey } from '../../api/iam/apiKeys.js';
import { createWorkspace } from '../../api/iam/workspaces.js';
import type { ContactCommand } from '../../domain/contacts/commands.js';
import { contactDecider } from '../../domain/contacts/decide.js';
import { contactStreamId } from '../../domain/contacts/events.js';
import { contactIdFor } from '../../domain/contacts/identity.js';
import { segmentDecider } from '../../domain/segments/decide.js';
import { segmentSchemaVersionOf } from '../../domain/segments/events.js';
import type { CommandContext } from '../../domain/shared/decider.js';
import { templateDecider } from '../../domain/templates/decide.js';
import { templateSchemaVersionOf, templateStreamId } from '../../domain/templates/events.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import { runCampaignCommand } from '../launch/streams.js';

export const DEMO_SENDER = { email: 'news@demo.example.com', name: 'Demo News' } as const;
const TAG = 'demo';
const TOPIC = 'news';
const now = () => new Date().toISOString();

export interface DemoWorld {
  readonly workspaceId: string;
  readonly apiKey: string;
  readonly eligible: readonly string[];
  readonly ineligible: readonly string[];
  context(): CommandContext;
}

export async function createDemoWorkspace(db: Kysely<Database>): Promise<DemoWorld> {
  const { workspace, issued } = await db.transaction().execute(async (tx) => {
    const workspace = await createWorkspace(tx, { name: `demo-${randomUUID().slice(0, 8)}`, createdBy: 'demo' });
    const issued = await issueApiKey(tx, { workspaceId: workspace.id, name: 'demo admin', role: 'admin', createdBy: 'demo' });
    return { workspace, issued };
  });
  return {
    workspaceId: workspace.id,
    apiKey: issued.key,
    eligible: [],
    ineligible: [],
    context: () => ({ commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'demo', workspaceId: workspace.id }),
  };
}

/** Creates `count` contacts tagged `demo`; every tenth unsubscribes from the topic. */
export async function importContacts(store: EventStore, world: DemoWorld, count: number): Promise<DemoWorld> {
  const eligible: string[] = [];
  const ineligible: string[] = [];
  const run = async (i: number) => {
    const email = `person${i}@demo.example.org`;
    const contactId = contactIdFor(world.workspaceId, email);
    const create: ContactCommand = {
      type: 'CreateContact',
      data: {
        contactId, email, externalId: null, phone: null,
        attributes: { first_name: { type: 'string', value: `Person ${i}` } },
        tags: [TAG],
        subscriptions: [{ topic: TOPIC, consentTextVersion: 'v1', source: 'demo' }],
        source: 'demo',
        at: now(),
      },
    };
    await handleCommand(store, contactDecider, contactStreamId(contactId), create, world.context());
    if (i % 10 === 9) {
      await handleCommand(store, contactDecider, contactStreamId(contactId), { type: 'UnsubscribeContact', data: { topic: TOPIC, source: 'api', reason: null, at: now() } }, world.context());
      ineligible.push(email);
    } else eligible.push(email);
  };
  for (let start = 0; start < count; start += 25) {
    await Promise.all(Array.from({ length: Math.min(25, count - start) }, (_, k) => run(start + k)));
  }
  return { ...world, eligible, ineligible };
}

export interface DemoCampaign {
  readonly campaignId: string;
  readonly segmentId: string;
}

export async function createDemoCampaign(store: EventStore, world: DemoWorld): Promise<DemoCampaign> {
  const segmentId = `seg-demo-${randomUUID().slice(0, 8)}`;
  await handleCommand(store, segmentDecider, `segment-${segmentId}`, { type: 'DefineSegment', data: { segmentId, name: 'Demo audience', description: 'contacts tagged demo', rules: { tag: TAG }, at: now() } }, world.context(), {
    schemaVersionOf: segmentSchemaVersionOf,
  });
  const template = async (subject: string) => {
    const templateId = randomUUID();
    const html = '<p>Hi {{ contact.first_name }}, have a look at <a href="https://shop.example.com/sale">the sale</a>.</p><a href="{{ unsubscribe_url }}">unsubscribe</a>';
    const data = { templateId, name: `demo ${subject}`, subject, html, text: null, at: now() };
    await handleCommand(store, templateDecider, templateStreamId(templateId), { type: 'CreateTemplate', data }, world.context(), { schemaVersionOf: templateSchemaVersionOf });
    return templateId;
  };
  const templateA = await template('Hello {{ contact.first_name }}');
  const templateB = await template('{{ contact.first_name }}, our sale is on');
  const campaignId = randomUUID();
  await runCampaignCommand(store, campaignId, {
    type: 'CreateCampaign',
    data: { campaignId, name: 'Demo campaign', sender: DEMO_SENDER, replyTo: null, segmentId, templateId: templateA, templateVersion: 1, topic: TOPIC, at: now() },
  }, world.context());
  const variants = [
    { key: 'A', templateId: templateA, templateVersion: 1, subject: null, splitPercent: 50 },
    { key: 'B', templateId: templateB, templateVersion: 1, subject: null, splitPercent: 50 },
  ];
  await runCampaignCommand(store, campaignId, { type: 'DefineCampaignVariants', data: { variants, testSamplePercent: 100, winnerMetric: 'open_rate', winnerAfterHours: null, at: now() } }, world.context());
  return { campaignId, segmentId };
}

export async function launchCampaign(store: EventStore, world: DemoWorld, campaignId: string): Promise<void> {
  await runCampaignCommand(store, campaignId, { type: 'LaunchCampaign', data: { at: now(), by: 'demo', scheduledFor: null } }, world.context());
}
