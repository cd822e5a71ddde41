import { randomUUID } from 'node:crypto';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId } from '../../../src/domain/campaigns/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import type { EventMetadata, EventStore, NewEvent } from '../../../src/eventstore/port.js';
import { contextIn } from './pipeline.js';
import { seededRandom } from '../../support/seededRandom.js';

/**
 * A seeded log of what the campaign stats projection reads, over two workspaces: campaigns with variants, without,
 * and with a replaced variant definition; their frozen audiences; launch bursts of EmailSent, EmailDelivered,
 * EmailFailed and EmailRenderFailed naming their variant (repeated sends to a contact, unknown variants, an
 * upper-case campaign id, sends of another workspace and to unknown campaigns mixed in), and between the bursts
 * single events: deliveries without a variant key, opens and clicks, bounces, complaints, v1 and v2
 * unsubscribes, a winner round. Four poison events in bursts: a send without campaignId, a delivery without
 * contactId, and two sends with an unreadable time (the second to a contact already sent).
 *
 * `counted` is what the whole campaign's row must show, known from the log alone: the sends, deliveries and
 * failures of each campaign's own workspace, poison excluded.
 */
export interface DeliveryLog {
  readonly campaigns: readonly string[];
  readonly counted: ReadonlyMap<string, { sent: number; delivered: number; failed: number }>;
  readonly poison: number;
}

interface Campaign {
  readonly id: string;
  readonly workspaceId: string;
  /** The keys its launch assigns; '' for a campaign without variants. */
  readonly keys: readonly string[];
  readonly contacts: readonly string[];
  readonly sent: string[];
}

type Draft = { type: string; data: Record<string, unknown>; workspaceId: string; schemaVersion?: number };

export async function appendDeliveryLog(store: EventStore, options: { bursts: number; seed: number }): Promise<DeliveryLog> {
  const rnd = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const [wsA, wsB] = [`ws-${randomUUID()}`, `ws-${randomUUID()}`];
  let clock = Date.parse('2026-05-04T08:00:00Z');
  // Every third time carries microseconds: the batch must pass them to PostgreSQL as written.
  const at = () => {
    clock += 100 + Math.floor(rnd() * 2_000);
    const iso = new Date(clock).toISOString();
    return rnd() < 0.33 ? iso.replace('Z', `${Math.floor(rnd() * 1_000).toString().padStart(3, '0')}Z`) : iso;
  };
  const counted = new Map<string, { sent: number; delivered: number; failed: number }>();
  const count = (c: Campaign, type: string) => {
    const row = counted.get(c.id)!;
    if (type === 'EmailSent') row.sent += 1;
    else if (type === 'EmailDelivered') row.delivered += 1;
    else row.failed += 1;
  };

  const campaigns: Campaign[] = [];
  const templateId = randomUUID();
  const define = async (workspaceId: string, variants: readonly string[][]) => {
    const id = randomUUID();
    const settings = { sender: null, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic: null };
    const run = (command: CampaignCommand) =>
      handleCommand(store, campaignDecider, campaignStreamId(id), command, contextIn(workspaceId), { schemaVersionOf: campaignSchemaVersionOf });
    await run({ type: 'CreateCampaign', data: { campaignId: id, name: `c${campaigns.length}`, ...settings, at: at() } });
    for (const keys of variants) {
      const split = keys.map((_, i) => (i === 0 ? 100 - Math.floor(100 / keys.length) * (keys.length - 1) : Math.floor(100 / keys.length)));
      const defined = keys.map((key, i) => ({ key, templateId, templateVersion: 1, subject: null, splitPercent: split[i]! }));
      await run({ type: 'DefineCampaignVariants', data: { variants: defined, testSamplePercent: 100, winnerMetric: 'open_rate', winnerAfterHours: null, at: at() } });
    }
    // A replaced definition's variants ('B' of [A, B] → [A, C]) are still assigned by the log: they count only on ''.
    const keys = variants.length === 0 ? [''] : [...new Set(variants.flat())];
    const campaign: Campaign = { id, workspaceId, keys, contacts: Array.from({ length: 80 }, () => randomUUID()), sent: [] };
    campaigns.push(campaign);
    counted.set(id, { sent: 0, delivered: 0, failed: 0 });
    return campaign;
  };
  await define(wsA, [['A', 'B']]);
  await define(wsA, [['A', 'B', 'C']]);
  await define(wsB, [['A', 'B']]);
  await define(wsA, []);
  await define(wsB, []);
  await define(wsA, [['A', 'B'], ['A', 'C']]);

  const append = async (streamId: string, drafts: readonly Draft[]) => {
    const events: NewEvent[] = drafts.map((d) => {
      const metadata: EventMetadata = { correlationId: randomUUID(), causationId: null, commandId: null, actor: 'launch-saga', workspaceId: d.workspaceId, schemaVersion: d.schemaVersion ?? 1 };
      return { type: d.type, data: d.data, metadata };
    });
    await store.append(streamId, events, { expectedRevision: 'any' });
  };

  for (const c of campaigns) {
    const variantSizes = c.keys[0] === '' ? null : Object.fromEntries(c.keys.map((k) => [k, Math.floor(c.contacts.length / c.keys.length)]));
    await append(`launch-${c.id}`, [{ type: 'AudienceFrozen', data: { campaignId: c.id, audienceSize: c.contacts.length, variantSizes, at: at() }, workspaceId: c.workspaceId }]);
  }

  let poison = 0;
  const keyOf = (c: Campaign, contactId: string) => c.keys[c.contacts.indexOf(contactId) % c.keys.length]!;
  for (let burst = 0; burst < options.bursts; burst++) {
    // A launch burst: sends to the next recipients, with outcomes of earlier ones.
    const drafts: Draft[] = [];
    const length = 5 + Math.floor(rnd() * 40);
    for (let i = 0; i < length; i++) {
      const c = pick(campaigns);
      const r = rnd();
      const unsent = c.contacts.filter((id) => !c.sent.includes(id));
      if (r < 0.45 || c.sent.length === 0) {
        // A send; one in ten repeats an earlier one (a retried launch step).
        const contactId = c.sent.length > 0 && (unsent.length === 0 || rnd() < 0.1) ? pick(c.sent) : pick(unsent);
        if (!c.sent.includes(contactId)) c.sent.push(contactId);
        drafts.push({ type: 'EmailSent', data: { campaignId: c.id, variantKey: keyOf(c, contactId), contactId, email: `${contactId}@x.test`, messageId: randomUUID(), sentAt: at() }, workspaceId: c.workspaceId });
        count(c, 'EmailSent');
      } else if (r < 0.85) {
        const type = pick(['EmailDelivered', 'EmailDelivered', 'EmailFailed', 'EmailRenderFailed']);
        const contactId = pick(c.sent);
        drafts.push({ type, data: { campaignId: c.id, variantKey: keyOf(c, contactId), contactId, reason: 'x', at: at() }, workspaceId: c.workspaceId });
        count(c, type);
      } else if (r < 0.89) {
        // Another workspace's send naming this campaign: counts for nothing.
        drafts.push({ type: 'EmailSent', data: { campaignId: c.id, variantKey: c.keys[0], contactId: randomUUID(), sentAt: at() }, workspaceId: c.workspaceId === wsA ? wsB : wsA });
      } else if (r < 0.92) {
        drafts.push({ type: pick(['EmailSent', 'EmailDelivered']), data: { campaignId: randomUUID(), variantKey: 'A', contactId: randomUUID(), sentAt: at() }, workspaceId: c.workspaceId });
      } else if (r < 0.96) {
        // A variant the campaign does not have: counts on the whole campaign's row only.
        const contactId = pick(c.contacts);
        drafts.push({ type: 'EmailDelivered', data: { campaignId: c.id, variantKey: 'Z', contactId, at: at() }, workspaceId: c.workspaceId });
        count(c, 'EmailDelivered');
      } else {
        // The campaign id in upper case: the same uuid (a repeated send's row is still written once).
        const type = pick(['EmailSent', 'EmailFailed']);
        const contactId = pick(c.sent);
        drafts.push({ type, data: { campaignId: c.id.toUpperCase(), variantKey: keyOf(c, contactId), contactId, reason: 'x', at: at() }, workspaceId: c.workspaceId });
        count(c, type);
      }
    }
    const c = campaigns[burst % campaigns.length]!;
    if (burst === 3) drafts.splice(2, 0, { type: 'EmailSent', data: { variantKey: 'A', contactId: randomUUID(), sentAt: at() }, workspaceId: c.workspaceId });
    if (burst === 9) drafts.splice(1, 0, { type: 'EmailDelivered', data: { campaignId: c.id, variantKey: c.keys[0], at: at() }, workspaceId: c.workspaceId });
    if (burst === 17) drafts.push({ type: 'EmailSent', data: { campaignId: c.id, variantKey: c.keys[0], contactId: randomUUID(), sentAt: 'not a time' }, workspaceId: c.workspaceId });
    if (burst === 21) {
      // A repeated send in the same run as the first: only the first writes its row, but apply reads both times.
      const send = (contactId: string, sentAt: string): Draft => ({ type: 'EmailSent', data: { campaignId: c.id, variantKey: c.keys[0], contactId, sentAt }, workspaceId: c.workspaceId });
      const contactId = randomUUID();
      drafts.splice(3, 0, send(contactId, at()), send(contactId, 'soon'));
      count(c, 'EmailSent');
    }
    if ([3, 9, 17, 21].includes(burst)) poison += 1;
    await append(`launch-${pick(campaigns).id}`, drafts);

    // Between bursts, single events through apply's own path.
    for (let i = Math.floor(rnd() * 6); i > 0; i--) {
      const c = pick(campaigns);
      if (c.sent.length === 0) continue;
      const contactId = pick(c.sent);
      const r = rnd();
      const data = { campaignId: c.id, contactId, at: at() };
      let draft: Draft;
      if (r < 0.15) {
        const type = pick(['EmailDelivered', 'EmailFailed', 'EmailSent']);
        // No variant key (absent or null): the contact's sent variant counts; a send then remembers none.
        draft = { type, data: rnd() < 0.5 ? data : { ...data, variantKey: null }, workspaceId: c.workspaceId };
        count(c, type);
      } else if (r < 0.45) {
        draft = { type: pick(['EmailOpened', 'EmailClicked']), data: rnd() < 0.5 ? { ...data, variantKey: keyOf(c, contactId) } : data, workspaceId: c.workspaceId };
      } else if (r < 0.6) {
        draft = { type: 'EmailBounced', data: { ...data, kind: pick(['hard', 'soft']), messageId: 'm', reason: '550', source: 'generic' }, workspaceId: c.workspaceId };
      } else if (r < 0.7) {
        draft = { type: 'EmailComplained', data: { ...data, messageId: 'm', source: 'generic' }, workspaceId: c.workspaceId };
      } else if (r < 0.85) {
        await append(`contact-${contactId}`, [{ type: 'ContactUnsubscribed', data: { topic: 't', source: `link:${c.id}`, campaignId: c.id, reason: null, at: at() }, workspaceId: c.workspaceId, schemaVersion: 2 }]);
        continue;
      } else if (r < 0.95) {
        await append(`contact-${contactId}`, [{ type: 'ContactUnsubscribed', data: { topic: 't', source: `one-click:${c.id}`, reason: null, at: at() }, workspaceId: c.workspaceId }]);
        continue;
      } else {
        draft = { type: 'WinnerRoundStarted', data: { campaignId: c.id, variantKey: c.keys[0], by: 'auto', holdoutSize: 3, round: 2, at: at() }, workspaceId: c.workspaceId };
      }
      await append(`email-${c.id}_${contactId}`, [draft]);
    }
  }
  // Last, one run in two appends (two recordedAt): each row's updated_at is the later one's.
  for (const type of ['EmailDelivered', 'EmailFailed']) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await append(
      `launch-${campaigns[0]!.id}`,
      campaigns.map((c) => {
        count(c, type);
        const contactId = pick(c.sent);
        return { type, data: { campaignId: c.id, variantKey: keyOf(c, contactId), contactId, reason: 'x', at: at() }, workspaceId: c.workspaceId };
      }),
    );
  }
  return { campaigns: campaigns.map((c) => c.id), counted, poison };
}
