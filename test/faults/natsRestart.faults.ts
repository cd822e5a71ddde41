/**
 * NATS restarted (a) while events keep being appended and projected, (b) while a launch is delivering.
 * Every role runs in this process (src/sagas/demo/stack.ts, as `npm start` composes them) against a private
 * nats-server on a free port that the test stops and starts again; the database is this file's own database on
 * the machine's PostgreSQL. After each: the read models equal a fresh rebuild, no event lost or applied twice,
 * every recipient exactly one email, and nothing needed a manual step.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infra/config.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createDemoCampaign, createDemoWorkspace, importContacts, launchCampaign } from '../../src/sagas/demo/seed.js';
import { startStack, type Stack } from '../../src/sagas/demo/stack.js';
import { loadLaunch } from '../../src/sagas/launch/streams.js';
import { useSmtpSink } from '../support/smtpSink.js';
import { useTestDatabase } from '../support/postgres.js';
import { expectExactReadModels, projectionsCaughtUp, sleep, waitFor } from './support/checks.js';
import { recordFigures } from './support/figures.js';
import { startPrivateNats, type PrivateNats } from './support/privateNats.js';
import { BusinessWorkload } from './support/workload.js';

const sink = await useSmtpSink();
let nats: PrivateNats;
let stack: Stack;
let dataDir: string;

beforeAll(async () => {
  const database = await useTestDatabase('faults_nats');
  nats = await startPrivateNats();
  dataDir = await mkdtemp(join(tmpdir(), 'faults-stack-'));
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url, NATS_URL: nats.url, NATS_PREFIX: `fnats${randomBytes(3).toString('hex')}`, SMTP_URL: sink.url, PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
  stack = await startStack(config, silentLogger);
});
afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('NATS restarted', () => {
  it('during projection: appends go on, the read models end equal to a fresh rebuild', async () => {
    const { workspaceId } = await createDemoWorkspace(stack.db);
    const workload = new BusinessWorkload(stack.eventStore, workspaceId);
    let injecting = true;
    // Paced, so that a quick machine does not build a workload (every 4th round a segment, fully evaluated over
    // all contacts so far) that grows quadratically beyond what the catch-up check allows.
    const running = workload.runUntil(() => !injecting, 10_000, 20);
    const RESTARTS = 3;
    for (let i = 0; i < RESTARTS; i++) {
      await sleep(1_500);
      await nats.restart(1_000);
    }
    await sleep(1_000);
    injecting = false;
    const rounds = await running;
    await projectionsCaughtUp(stack.eventStore, stack.db);
    const facts = await expectExactReadModels(stack.eventStore, stack.db);
    await recordFigures('a_nats_restart_during_projection', { natsRestarts: RESTARTS, natsDownMsEach: 1_000, rounds, commands: workload.commands, ...facts });
  }, 180_000);

  it('during delivery: every recipient gets exactly one email and the launch completes by itself', async () => {
    const demo = await createDemoWorkspace(stack.db);
    const world = await importContacts(stack.eventStore, demo, 250);
    const { campaignId } = await createDemoCampaign(stack.eventStore, world);
    await projectionsCaughtUp(stack.eventStore, stack.db);
    const sent = () => sink.accepted.filter((m) => m.messageId.startsWith(campaignId)).length;
    await launchCampaign(stack.eventStore, world, campaignId);
    const restartsAt: number[] = [];
    for (const threshold of [30, 120]) {
      await waitFor(() => sent() >= threshold, `${threshold} emails sent`);
      restartsAt.push(sent());
      await nats.restart(1_000);
    }
    await waitFor(async () => (await loadLaunch(stack.eventStore, campaignId)).state.status === 'completed', 'the launch to complete', 90_000);
    await waitFor(async () => (await stack.db.selectFrom('campaigns').select('status').where('id', '=', campaignId).executeTakeFirst())?.status === 'completed', 'the campaign read model to say completed');
    for (const email of world.eligible) expect(sink.countFor(email), email).toBe(1);
    for (const email of world.ineligible) expect(sink.countFor(email), email).toBe(0);
    expect(sent()).toBe(world.eligible.length);
    await projectionsCaughtUp(stack.eventStore, stack.db);
    const stats = await stack.db.selectFrom('campaign_stats').select(['variant_key', 'sent']).where('campaign_id', '=', campaignId).execute();
    expect(stats.reduce((sum, s) => sum + (s.variant_key === '' ? 0 : s.sent), 0)).toBe(world.eligible.length);
    const facts = await expectExactReadModels(stack.eventStore, stack.db);
    await recordFigures('b_nats_restart_during_delivery', { natsRestarts: restartsAt.length, restartedAtSent: restartsAt, recipients: world.eligible.length, emails: sent(), duplicates: sent() - new Set(sink.accepted.filter((m) => m.messageId.startsWith(campaignId)).map((m) => m.messageId)).size, ...facts });
  }, 180_000);
});
