import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import { campaignDecider } from '../../../src/domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId } from '../../../src/domain/campaigns/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { campaignsProjection } from '../../../src/projections/campaigns/projection.js';
import { findCampaign } from '../../../src/projections/campaigns/queries.js';
import { CampaignScheduler, launchCommandId } from '../../../src/sagas/scheduler/scheduler.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';
import { contextIn, startPipeline, type Pipeline } from '../../projections/campaigns/pipeline.js';

let env: ApiTestEnv;
let pipeline: Pipeline;
const workspace = 'ws-scheduler';
const LONG_AGO = '2020-01-01T00:00:00.000Z';

beforeAll(async () => {
  env = await useApiTestEnv('scheduler');
  pipeline = startPipeline(env, 'scheduler', [campaignsProjection]);
});

async function run(campaignId: string, command: CampaignCommand) {
  return handleCommand(env.eventStore, campaignDecider, campaignStreamId(campaignId), command, contextIn(workspace), { schemaVersionOf: campaignSchemaVersionOf });
}

/** A ready campaign scheduled for `at` (the command's clock is set before it, so a past `at` is allowed here). */
async function scheduledCampaign(at: string) {
  const id = randomUUID();
  const settings = { sender: { email: 'a@shop.test', name: null }, replyTo: null, segmentId: 'all', templateId: randomUUID(), templateVersion: 1, topic: null };
  await run(id, { type: 'CreateCampaign', data: { campaignId: id, name: `c-${id.slice(0, 6)}`, ...settings, at: LONG_AGO } });
  const result = await run(id, { type: 'ScheduleCampaign', data: { at, timeZone: 'UTC', now: LONG_AGO } });
  return { id, result };
}

async function launchesOf(campaignId: string) {
  const read = await env.eventStore.readStream(campaignStreamId(campaignId));
  return read.status === 'found' ? read.events.filter((e) => e.type === 'CampaignLaunched') : [];
}

const scheduler = (now?: () => Date) => new CampaignScheduler({ store: env.eventStore, db: env.db, logger: silentLogger, pollIntervalMs: 20, batchSize: 7, ...(now ? { now } : {}) });

describe('campaign scheduler', () => {
  it('two instances launch each due campaign exactly once', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    const due = await Promise.all(Array.from({ length: 25 }, () => scheduledCampaign(past)));
    const notYet = await scheduledCampaign(new Date(Date.now() + 3_600_000).toISOString());
    await pipeline.caughtUp(notYet.result.position);

    const [one, two] = [scheduler(), scheduler()];
    // Both poll the same due rows at the same moment while the read model still lags, then keep polling.
    const counts = await Promise.all([one.launchDue(), two.launchDue()]);
    expect(counts[0] + counts[1]).toBeGreaterThan(0);
    one.start();
    two.start();
    const launchedCampaigns = async () => (await Promise.all(due.map(({ id }) => launchesOf(id)))).filter((l) => l.length > 0).length;
    await expect.poll(launchedCampaigns, { timeout: 20_000, interval: 100 }).toBe(25);
    // More polls on both, before and after the read model has caught up, launch nothing again.
    await pipeline.caughtUp((await env.eventStore.headPosition())!);
    await Promise.all([one.launchDue(), two.launchDue()]);
    await Promise.all([one.stop(), two.stop()]);
    // Two instances appending the identical launch at once may both hear "appended" (the store takes the
    // identical re-append as a no-op), so the instances' own counts can exceed 25; the store holds one each.
    expect(one.status.launched + two.status.launched).toBeGreaterThanOrEqual(25);
    for (const { id, result } of due) {
      const launches = await launchesOf(id);
      expect(launches.map((e) => [e.type, e.metadata.commandId, e.metadata.actor])).toEqual([['CampaignLaunched', launchCommandId(id, result.revision), 'scheduler']]);
      expect(launches[0]!.data).toMatchObject({ by: 'scheduler', scheduledFor: past });
    }
    expect(await launchesOf(notYet.id)).toEqual([]);
    const last = (await env.eventStore.headPosition())!;
    await pipeline.caughtUp(last);
    expect((await findCampaign(env.db, workspace, due[0]!.id))?.status).toBe('running');
    expect((await findCampaign(env.db, workspace, notYet.id))?.status).toBe('scheduled');
  });

  it('a campaign moved to a later time is not launched for its old one, even while the read model lags', async () => {
    const { id, result } = await scheduledCampaign(new Date(Date.now() - 1_000).toISOString());
    await pipeline.caughtUp(result.position);
    await run(id, { type: 'ScheduleCampaign', data: { at: new Date(Date.now() + 3_600_000).toISOString(), timeZone: 'UTC', now: new Date().toISOString() } });
    await scheduler().launchDue();
    expect(await launchesOf(id)).toEqual([]);
  });

  it('a campaign unscheduled and scheduled again launches once for the new schedule', async () => {
    const { id, result } = await scheduledCampaign(new Date(Date.now() + 3_600_000).toISOString());
    await pipeline.caughtUp(result.position);
    await run(id, { type: 'UnscheduleCampaign', data: { at: new Date().toISOString() } });
    const later = new Date(Date.now() + 2 * 3_600_000);
    const again = await run(id, { type: 'ScheduleCampaign', data: { at: later.toISOString(), timeZone: 'UTC', now: new Date().toISOString() } });
    await pipeline.caughtUp(again.position);
    // The clock of both instances jumps past the new time.
    const clock = () => new Date(later.getTime() + 1_000);
    await Promise.all([scheduler(clock).launchDue(), scheduler(clock).launchDue()]);
    expect((await launchesOf(id)).map((e) => e.metadata.commandId)).toEqual([launchCommandId(id, again.revision)]);
  });
});
