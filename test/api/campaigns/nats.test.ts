import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCommandServer } from '../../../src/api/commands/natsCommandServer.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { uniquePrefix } from '../../support/nats.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let server: NatsCommandServer;
let ws: SeededWorkspace;
const prefix = uniquePrefix('natscampaigns');

beforeAll(async () => {
  env = await useApiTestEnv('nats_campaigns');
  // The full catalog, as the api role serves it.
  server = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() });
  server.start();
  ws = await seedWorkspace(env.db);
});
afterAll(() => server.stop());

async function request(name: string, input: unknown, commandId: string = randomUUID()) {
  const headers = natsHeaders();
  headers.set('Authorization', `Bearer ${ws.keys.service.key}`);
  const reply = await env.nats.request(`${prefix}.commands.${name}`, JSON.stringify({ commandId, input }), { timeout: 5_000, headers });
  return reply.json<{ ok: boolean; result?: { streamId: string; data: Record<string, unknown> }; error?: { code: string; message: string; details?: Record<string, unknown> } }>();
}

describe('templates and campaigns over NATS request/reply', () => {
  it('creates a template and a campaign on it, defines variants in JSON spelling, and refuses bad input by field', async () => {
    const template = await request('CreateTemplate', { name: 'Hello', subject: 'Hi {{ contact.email }}', html: '<p>hi</p>' });
    expect(template).toMatchObject({ ok: true, result: { data: { version: 1 } } });
    const templateId = template.result!.data.templateId as string;

    const commandId = `create-campaign-${randomUUID()}`;
    const campaign = await request('CreateCampaign', { name: 'Via NATS', templateId }, commandId);
    expect(campaign).toMatchObject({ ok: true });
    const campaignId = campaign.result!.data.campaignId as string;
    expect(campaign.result!.streamId).toBe(`campaign-${campaignId}`);
    expect((await request('CreateCampaign', { name: 'Via NATS', templateId }, commandId)).result).toMatchObject({ data: { campaignId }, duplicate: true });

    const variants = [
      { key: 'A', templateId, splitPercent: 30 },
      { key: 'B', templateId, splitPercent: 70 },
    ];
    expect(await request('DefineCampaignVariants', { campaignId, variants, testSamplePercent: 10, winnerMetric: 'open_rate', winnerAfterHours: 6 })).toMatchObject({ ok: true });
    const read = await env.eventStore.readStream(`campaign-${campaignId}`);
    expect(read.status === 'found' && read.events.map((e) => e.type)).toEqual(['CampaignCreated', 'CampaignVariantsDefined']);

    expect(await request('ScheduleCampaign', { campaignId, at: 42 })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'input.at' } } });
    expect(await request('LaunchCampaign', {})).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', details: { field: 'input.campaignId' } } });
    expect(await request('PauseCampaign', { campaignId })).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
  });
});
