import { randomUUID } from 'node:crypto';
import type { CampaignEvent } from '../../src/domain/campaigns/events.js';
import type { EventStore } from '../../src/eventstore/port.js';

export const settings = (name: string) => ({ name, sender: { email: 'news@shop.test', name: 'Shop' }, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic: null });

/** A campaign stream: created, then `updates` renames (`name-1`, `name-2`, ...), appended in batches. */
export async function campaignStream(store: EventStore, workspaceId: string, updates: number, options: { campaignId?: string; batch?: number; actor?: string } = {}): Promise<string> {
  const campaignId = options.campaignId ?? randomUUID();
  const events: CampaignEvent[] = [{ type: 'CampaignCreated', data: { campaignId, ...settings('name-0'), createdAt: new Date().toISOString() } }];
  for (let i = 1; i <= updates; i++) events.push({ type: 'CampaignUpdated', data: { ...settings(`name-${i}`), updatedAt: new Date().toISOString() } });
  const batch = options.batch ?? 500;
  for (let from = 0; from < events.length; from += batch) {
    const commandId = randomUUID();
    await store.append(
      `campaign-${campaignId}`,
      events.slice(from, from + batch).map((e) => ({ type: e.type, data: e.data, metadata: { correlationId: randomUUID(), causationId: null, commandId, actor: options.actor ?? 'test', workspaceId, schemaVersion: 1 } })),
      { expectedRevision: from === 0 ? 'no_stream' : from - 1 },
    );
  }
  return campaignId;
}
