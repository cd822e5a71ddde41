import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId } from '../../../src/domain/campaigns/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import type { EventMetadata } from '../../../src/eventstore/port.js';
import { statsOfCampaigns } from '../../../src/projections/campaigns/queries.js';
import { CAMPAIGN_STATS_PROJECTION } from '../../../src/projections/campaigns/stats.js';
import { listParkedEvents, waitForProjection } from '../../../src/projections/runner/queries.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';
import { contextIn, startPipeline, type Pipeline } from './pipeline.js';

let env: ApiTestEnv;
let pipeline: Pipeline;
const workspace = 'ws-stats';
const T1 = randomUUID();

beforeAll(async () => {
  env = await useApiTestEnv('proj_campaign_stats');
  pipeline = startPipeline(env, 'projstats');
});

const meta = (workspaceId = workspace): EventMetadata => ({ correlationId: randomUUID(), causationId: null, commandId: null, actor: 'launch-saga', workspaceId, schemaVersion: 1 });

/** Appends delivery events as the launch saga will (stream launch-<campaignId>). */
async function deliver(campaignId: string, events: { type: string; data: Record<string, unknown> }[], workspaceId = workspace) {
  return env.eventStore.append(`launch-${campaignId}`, events.map((e) => ({ ...e, data: { campaignId, at: '2025-05-01T10:00:00.000Z', ...e.data }, metadata: meta(workspaceId) })), { expectedRevision: 'any' });
}

async function campaignWithVariants(): Promise<string> {
  const id = randomUUID();
  const settings = { sender: null, replyTo: null, segmentId: 's', templateId: T1, templateVersion: 1, topic: null };
  await handleCommand(env.eventStore, campaignDecider, campaignStreamId(id), { type: 'CreateCampaign', data: { campaignId: id, name: 'AB', ...settings, at: '2025-05-01T00:00:00.000Z' } }, contextIn(workspace), { schemaVersionOf: campaignSchemaVersionOf });
  const variants = ['A', 'B'].map((key) => ({ key, templateId: T1, templateVersion: 1, subject: null, splitPercent: 50 }));
  const data = { variants, testSamplePercent: 100, winnerMetric: 'open_rate' as const, winnerAfterHours: null, at: '2025-05-01T00:00:00.000Z' };
  await handleCommand(env.eventStore, campaignDecider, campaignStreamId(id), { type: 'DefineCampaignVariants', data }, contextIn(workspace), { schemaVersionOf: campaignSchemaVersionOf });
  return id;
}

const counters = async (campaignId: string, workspaceId = workspace) =>
  Object.fromEntries((await statsOfCampaigns(env.db, workspaceId, [campaignId])).map(({ variant_key, workspace_id: _w, campaign_id: _c, updated_at: _u, ...rest }) => [variant_key, rest]));

const zero = { audience_size: 0, sent: 0, delivered: 0, opened: 0, unique_opens: 0, clicked: 0, unique_clicks: 0, bounced: 0, complained: 0, unsubscribed: 0, failed: 0 };

describe('campaign stats from delivery events', () => {
  it('start at zero for the campaign and each variant, then count sends, opens (unique per contact), clicks, bounces, complaints, failures and unsubscribes', async () => {
    const id = await campaignWithVariants();
    const [ada, bob, cy] = [randomUUID(), randomUUID(), randomUUID()];
    await deliver(id, [
      { type: 'AudienceFrozen', data: { audienceSize: 3, variantSizes: { A: 2, B: 1 } } },
      // The delivery slice's shapes (src/domain/deliveries/events.ts): sentAt, and no variantKey on bounces and complaints.
      { type: 'EmailSent', data: { variantKey: 'A', contactId: ada, messageId: 'm1', sentAt: '2025-05-01T10:00:00.000Z' } },
      { type: 'EmailSent', data: { variantKey: 'A', contactId: bob, messageId: 'm2' } },
      { type: 'EmailSent', data: { variantKey: 'B', contactId: cy, messageId: 'm3' } },
      { type: 'EmailDelivered', data: { variantKey: 'A', contactId: ada } },
      { type: 'EmailDelivered', data: { variantKey: 'B', contactId: cy } },
      { type: 'EmailBounced', data: { contactId: bob, messageId: 'm2', kind: 'hard', reason: '550', source: 'generic' } },
      { type: 'EmailOpened', data: { variantKey: 'A', contactId: ada } },
      { type: 'EmailOpened', data: { variantKey: 'A', contactId: ada } },
      { type: 'EmailOpened', data: { variantKey: 'B', contactId: cy } },
      { type: 'EmailClicked', data: { variantKey: 'A', contactId: ada, url: 'https://shop.test/a' } },
      { type: 'EmailClicked', data: { variantKey: 'A', contactId: ada, url: 'https://shop.test/b' } },
      { type: 'EmailComplained', data: { contactId: cy, messageId: 'm3', source: 'generic' } },
      { type: 'EmailFailed', data: { variantKey: 'B', contactId: randomUUID(), reason: '550', permanent: true } },
      { type: 'EmailRenderFailed', data: { variantKey: 'A', contactId: randomUUID(), reason: 'undefined variable' } },
    ]);
    // The contact's own unsubscribe event names the campaign in its source; twice counts once.
    const unsubscribe = (source: string) => ({ type: 'ContactUnsubscribed', data: { topic: 'newsletter', source, reason: null, at: '2025-05-01T11:00:00.000Z' }, metadata: meta() });
    await env.eventStore.append(`contact-${cy}`, [unsubscribe(`one-click:${id}`), unsubscribe(`link:${id}`), unsubscribe('api')], { expectedRevision: 'any' });
    const last = await env.eventStore.append(`contact-${ada}`, [unsubscribe('import:job-1')], { expectedRevision: 'any' });
    await pipeline.caughtUp(last.position);

    expect(await counters(id)).toEqual({
      '': { ...zero, audience_size: 3, sent: 3, delivered: 2, opened: 3, unique_opens: 2, clicked: 2, unique_clicks: 1, bounced: 1, complained: 1, unsubscribed: 1, failed: 2 },
      A: { ...zero, audience_size: 2, sent: 2, delivered: 1, opened: 2, unique_opens: 1, clicked: 2, unique_clicks: 1, bounced: 1, failed: 1 },
      B: { ...zero, audience_size: 1, sent: 1, delivered: 1, opened: 1, unique_opens: 1, complained: 1, unsubscribed: 1, failed: 1 },
    });
  });

  it('an A/B test phase: the sample sizes per variant, then the winner round adds the holdout to the winner', async () => {
    const id = await campaignWithVariants();
    const [ada, bob, cy] = [randomUUID(), randomUUID(), randomUUID()];
    await deliver(id, [
      { type: 'AudienceFrozen', data: { audienceSize: 10, variantSizes: { A: 1, B: 1 }, sampleSize: 2, holdoutSize: 8 } },
      { type: 'EmailSent', data: { variantKey: 'A', contactId: ada, messageId: 'm1' } },
      { type: 'EmailSent', data: { variantKey: 'B', contactId: bob, messageId: 'm2' } },
      { type: 'EmailOpened', data: { variantKey: 'B', contactId: bob } },
      { type: 'WinnerRoundStarted', data: { variantKey: 'B', by: 'auto', holdoutSize: 8, round: 2 } },
    ]);
    const last = await deliver(id, [{ type: 'EmailSent', data: { variantKey: 'B', contactId: cy, messageId: 'm3' } }]);
    await pipeline.caughtUp(last.position);
    expect(await counters(id)).toEqual({
      '': { ...zero, audience_size: 10, sent: 3, opened: 1, unique_opens: 1 },
      A: { ...zero, audience_size: 1, sent: 1 },
      B: { ...zero, audience_size: 9, sent: 2, opened: 1, unique_opens: 1 },
    });
  });

  it('a campaign without variants counts on its own row only', async () => {
    const id = randomUUID();
    const created = await handleCommand(
      env.eventStore,
      campaignDecider,
      campaignStreamId(id),
      { type: 'CreateCampaign', data: { campaignId: id, name: 'Plain', sender: null, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic: null, at: '2025-05-01T00:00:00.000Z' } },
      contextIn(workspace),
    );
    await pipeline.caughtUp(created.position);
    expect(await counters(id)).toEqual({ '': zero });
    const last = await deliver(id, [{ type: 'EmailSent', data: { variantKey: null, contactId: 'c1', messageId: 'm' } }, { type: 'EmailOpened', data: { variantKey: null, contactId: 'c1' } }]);
    await pipeline.caughtUp(last.position);
    expect(await counters(id)).toEqual({ '': { ...zero, sent: 1, opened: 1, unique_opens: 1 } });
  });

  it("another workspace's events do not count for a campaign", async () => {
    const id = await campaignWithVariants();
    const last = await deliver(id, [{ type: 'EmailSent', data: { variantKey: 'A', contactId: 'x', messageId: 'm' } }], 'ws-intruder');
    await pipeline.caughtUp(last.position);
    expect((await counters(id))['']).toEqual(zero);
  });

  it('a malformed delivery event is parked, not counted', async () => {
    const id = await campaignWithVariants();
    const last = await deliver(id, [{ type: 'EmailOpened', data: { campaignId: 'not-a-uuid', variantKey: 'A', contactId: 'x' } }]);
    expect(await waitForProjection(env.db, CAMPAIGN_STATS_PROJECTION, last.position, 10_000)).toBe(true);
    const parked = await listParkedEvents(env.db, { projection: CAMPAIGN_STATS_PROJECTION });
    expect(parked.map((p) => [p.event_type, p.error])).toEqual([['EmailOpened', 'EmailOpened needs campaignId (a uuid)']]);
    expect((await counters(id))['']).toEqual(zero);
  });
});
