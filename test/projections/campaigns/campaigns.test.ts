import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId } from '../../../src/domain/campaigns/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { dueCampaigns, findCampaign, listCampaigns, statsOfCampaigns } from '../../../src/projections/campaigns/queries.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';
import { contextIn, startPipeline, type Pipeline } from './pipeline.js';

let env: ApiTestEnv;
let pipeline: Pipeline;
const workspace = 'ws-campaigns';
const T1 = randomUUID();
const T2 = randomUUID();
const settings = { sender: { email: 'news@shop.test', name: 'Shop' }, replyTo: null, segmentId: 'vips', templateId: T1, templateVersion: 2, topic: 'newsletter' };

beforeAll(async () => {
  env = await useApiTestEnv('proj_campaigns');
  pipeline = startPipeline(env, 'projcampaigns');
});

async function run(campaignId: string, command: CampaignCommand, workspaceId = workspace) {
  return handleCommand(env.eventStore, campaignDecider, campaignStreamId(campaignId), command, contextIn(workspaceId), { schemaVersionOf: campaignSchemaVersionOf });
}

const create = (id: string, name: string, at: string, workspaceId = workspace) =>
  run(id, { type: 'CreateCampaign', data: { campaignId: id, name, ...settings, at } }, workspaceId);

describe('campaigns read model (relay → JetStream → projector)', () => {
  it('follows a campaign through its life', async () => {
    const id = randomUUID();
    await create(id, 'Spring', '2025-01-01T00:00:00.000Z');
    await run(id, { type: 'UpdateCampaign', data: { changes: { name: 'Spring sale', replyTo: 'help@shop.test' }, at: '2025-01-01T01:00:00.000Z' } });
    const variants = {
      variants: [
        { key: 'A', templateId: T1, templateVersion: 2, subject: null, splitPercent: 60 },
        { key: 'B', templateId: T2, templateVersion: 1, subject: 'B!', splitPercent: 40 },
      ],
      testSamplePercent: 10,
      winnerMetric: 'click_rate' as const,
      winnerAfterHours: null,
    };
    await run(id, { type: 'DefineCampaignVariants', data: { ...variants, at: '2025-01-01T02:00:00.000Z' } });
    const scheduled = await run(id, { type: 'ScheduleCampaign', data: { at: '2025-02-01T09:00', timeZone: 'Europe/Berlin', now: '2025-01-01T03:00:00.000Z' } });
    await pipeline.caughtUp(scheduled.position);
    expect(await findCampaign(env.db, workspace, id)).toMatchObject({
      name: 'Spring sale',
      status: 'scheduled',
      sender_email: 'news@shop.test',
      sender_name: 'Shop',
      reply_to: 'help@shop.test',
      segment_id: 'vips',
      template_id: T1,
      template_version: 2,
      topic: 'newsletter',
      scheduled_at: new Date('2025-02-01T08:00:00.000Z'),
      time_zone: 'Europe/Berlin',
      scheduled_revision: 3,
      variants,
      winner: null,
      created_at: new Date('2025-01-01T00:00:00.000Z'),
      revision: 3,
    });
    expect(await dueCampaigns(env.db, new Date('2025-02-01T08:00:00.000Z'), 10)).toContainEqual({ id, workspaceId: workspace, scheduledAt: new Date('2025-02-01T08:00:00.000Z'), scheduledRevision: 3 });
    expect((await statsOfCampaigns(env.db, workspace, [id])).map((r) => [r.variant_key, r.sent])).toEqual([['', 0], ['A', 0], ['B', 0]]);

    await run(id, { type: 'LaunchCampaign', data: { at: '2025-02-01T08:00:01.000Z', by: 'scheduler', scheduledFor: '2025-02-01T08:00:00.000Z' } });
    await run(id, { type: 'PauseCampaign', data: { at: '2025-02-01T08:10:00.000Z', reason: null } });
    await run(id, { type: 'ResumeCampaign', data: { at: '2025-02-01T08:20:00.000Z' } });
    await run(id, { type: 'ChooseCampaignWinner', data: { variantKey: 'B', by: 'manual', values: { A: 0.1, B: 0.2 }, at: '2025-02-01T09:00:00.000Z' } });
    const done = await run(id, { type: 'CompleteCampaign', data: { at: '2025-02-01T10:00:00.000Z', counts: { audience: 3, sent: 3, failed: 0, skipped: 0 } } });
    await pipeline.caughtUp(done.position);
    expect(await findCampaign(env.db, workspace, id)).toMatchObject({
      status: 'completed',
      launched_at: new Date('2025-02-01T08:00:01.000Z'),
      launched_by: 'scheduler',
      completed_at: new Date('2025-02-01T10:00:00.000Z'),
      winner: { variantKey: 'B', by: 'manual', metric: 'click_rate', values: { A: 0.1, B: 0.2 }, at: '2025-02-01T09:00:00.000Z' },
      revision: 8,
    });
    expect(await dueCampaigns(env.db, new Date('2030-01-01T00:00:00.000Z'), 100)).not.toContainEqual(expect.objectContaining({ id }));
  });

  it('unscheduling clears the schedule; cancelling records the reason', async () => {
    const id = randomUUID();
    await create(id, 'Oops', '2025-01-01T00:00:00.000Z');
    await run(id, { type: 'ScheduleCampaign', data: { at: '2025-02-01T09:00:00Z', timeZone: 'UTC', now: '2025-01-01T00:00:00.000Z' } });
    await run(id, { type: 'UnscheduleCampaign', data: { at: '2025-01-02T00:00:00.000Z' } });
    const unscheduled = await findAfter(id, await run(id, { type: 'CancelCampaign', data: { at: '2025-01-03T00:00:00.000Z', reason: 'wrong list' } }));
    expect(unscheduled).toMatchObject({ status: 'cancelled', scheduled_at: null, time_zone: null, scheduled_revision: null, end_reason: 'wrong list' });
  });

  it('lists newest first, filtered by status and dates, page by page, per workspace', async () => {
    const ws = `ws-list-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await create(ids[0]!, 'one', '2025-03-01T00:00:00.000Z', ws);
    await create(ids[1]!, 'two', '2025-03-02T00:00:00.000Z', ws);
    const last = await create(ids[2]!, 'three', '2025-03-03T00:00:00.000Z', ws);
    await create(randomUUID(), 'elsewhere', '2025-03-02T00:00:00.000Z', `${ws}-other`);
    await pipeline.caughtUp(last.position);
    const first = await listCampaigns(env.db, { workspaceId: ws }, { after: null, limit: 2 });
    expect([first.rows.map((r) => r.name), first.hasNextPage]).toEqual([['three', 'two'], true]);
    const next = await listCampaigns(env.db, { workspaceId: ws }, { after: { createdAt: first.rows[1]!.created_at, id: first.rows[1]!.id }, limit: 2 });
    expect([next.rows.map((r) => r.name), next.hasNextPage]).toEqual([['one'], false]);
    const filtered = await listCampaigns(env.db, { workspaceId: ws, status: 'draft', createdAfter: new Date('2025-03-02T00:00:00.000Z'), createdBefore: new Date('2025-03-03T00:00:00.000Z') }, { after: null, limit: 10 });
    expect(filtered.rows.map((r) => r.name)).toEqual(['two']);
    expect((await listCampaigns(env.db, { workspaceId: ws, status: 'running' }, { after: null, limit: 10 })).rows).toEqual([]);
  });
});

async function findAfter(id: string, result: { position: bigint | null }) {
  await pipeline.caughtUp(result.position);
  return findCampaign(env.db, workspace, id);
}
