import { randomUUID } from 'node:crypto';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { segmentDecider } from '../../../src/domain/segments/decide.js';
import type { CommandContext } from '../../../src/domain/shared/decider.js';
import { templateDecider } from '../../../src/domain/templates/decide.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import type { EventStore } from '../../../src/eventstore/port.js';

/**
 * A small but varied log through the real deciders, so that every projection in PROJECTIONS has rows to
 * rebuild: contacts (attributes, tags, consents, a suppression), a segment over them, a template with two
 * versions, a campaign, and delivery events its stats count.
 */
export interface Seeded {
  readonly workspaceId: string;
  readonly contactIds: readonly string[];
  readonly segmentId: string;
  readonly campaignId: string;
}

let clock = Date.parse('2026-03-01T09:00:00Z');
const at = () => new Date((clock += 1_000)).toISOString();

export function contextIn(workspaceId: string): CommandContext {
  return { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId };
}

export async function createContacts(store: EventStore, workspaceId: string, count: number, label = 'c'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const email = `${label}${i}-${randomUUID().slice(0, 8)}@example.com`;
    const contactId = contactIdFor(workspaceId, email);
    ids.push(contactId);
    await handleCommand(store, contactDecider, `contact-${contactId}`, {
      type: 'CreateContact',
      data: {
        contactId,
        email,
        externalId: null,
        phone: null,
        attributes: { plan: { type: 'string', value: i % 2 === 0 ? 'pro' : 'free' }, score: { type: 'number', value: i } },
        tags: i % 3 === 0 ? ['vip'] : [],
        subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v1', source: 'form' }],
        source: 'test',
        at: at(),
      },
    }, contextIn(workspaceId));
  }
  return ids;
}

export async function seedLog(store: EventStore): Promise<Seeded> {
  const workspaceId = `ws-${randomUUID()}`;
  const ctx = () => contextIn(workspaceId);
  const contactIds = await createContacts(store, workspaceId, 12);
  for (const [i, contactId] of contactIds.entries()) {
    const stream = `contact-${contactId}`;
    if (i % 2 === 1) await handleCommand(store, contactDecider, stream, { type: 'TagContact', data: { tags: ['engaged'], at: at() } }, ctx());
    if (i % 4 === 0) await handleCommand(store, contactDecider, stream, { type: 'UpdateContactAttributes', data: { changes: { plan: { type: 'string', value: 'team' } }, at: at() } }, ctx());
    if (i === 5) await handleCommand(store, contactDecider, stream, { type: 'UnsubscribeContact', data: { topic: 'newsletter', source: 'link', reason: null, at: at() } }, ctx());
    if (i === 7) await handleCommand(store, contactDecider, stream, { type: 'SuppressContact', data: { reason: 'hard_bounce', detail: 'mailbox gone', at: at() } }, ctx());
  }
  const segmentId = randomUUID();
  await handleCommand(store, segmentDecider, `segment-${segmentId}`, { type: 'DefineSegment', data: { segmentId, name: 'pro or vip', description: null, rules: { any: [{ tag: 'vip' }, { attribute: 'plan', op: 'eq', type: 'string', value: 'pro' }] }, at: at() } }, ctx());
  const templateId = randomUUID();
  await handleCommand(store, templateDecider, `template-${templateId}`, { type: 'CreateTemplate', data: { templateId, name: 'Welcome', subject: 'Hi {{ contact.email }}', html: '<p>Hello</p>', text: null, at: at() } }, ctx());
  await handleCommand(store, templateDecider, `template-${templateId}`, { type: 'ChangeTemplate', data: { subject: 'Hello {{ contact.email }}', html: '<p>Hello again</p>', text: 'Hello again', at: at() } }, ctx());
  const campaignId = randomUUID();
  await handleCommand(store, campaignDecider, `campaign-${campaignId}`, {
    type: 'CreateCampaign',
    data: { campaignId, name: 'Spring', sender: { email: 'news@example.com', name: 'News' }, replyTo: null, segmentId, templateId, templateVersion: 2, topic: 'newsletter', at: at() },
  }, ctx());
  for (const contactId of contactIds.slice(0, 4)) {
    const stream = `email-${campaignId}_${contactId}`;
    const meta = { ...ctx(), schemaVersion: 1 };
    await store.append(stream, [{ type: 'EmailSent', data: { campaignId, variantKey: null, contactId, at: at() }, metadata: meta }], { expectedRevision: 'no_stream' });
    await store.append(stream, [{ type: 'EmailOpened', data: { campaignId, variantKey: null, contactId, at: at() }, metadata: meta }], { expectedRevision: 0 });
  }
  return { workspaceId, contactIds, segmentId, campaignId };
}
