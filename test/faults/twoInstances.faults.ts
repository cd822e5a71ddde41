/**
 * Two app instances, each a real `src/api/main.ts` process running every role (api, relay, projector, saga), on
 * the same PostgreSQL database and NATS prefix (this file's own, on the machine's servers), started at the same
 * moment (migrations race too). A workload goes in through both APIs (GraphQL over HTTP) and through the command
 * handler, including a launch that both instances deliver. Afterwards: no event applied twice, every recipient
 * exactly one email, the read models equal a fresh rebuild.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStore } from '../../src/eventstore/open.js';
import { loadConfig } from '../../src/infra/config.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import type { Database } from '../../src/projections/db/schema.js';
import { createDemoCampaign, createDemoWorkspace, importContacts } from '../../src/sagas/demo/seed.js';
import { loadLaunch } from '../../src/sagas/launch/streams.js';
import { freePort } from '../infra/freePort.js';
import { TEST_NATS_URL, uniquePrefix } from '../support/nats.js';
import { useTestDatabase } from '../support/postgres.js';
import { useSmtpSink } from '../support/smtpSink.js';
import { expectExactReadModels, projectionsCaughtUp, sleep, waitFor } from './support/checks.js';
import { recordFigures } from './support/figures.js';
import { BusinessWorkload } from './support/workload.js';

const sink = await useSmtpSink();
const database = await useTestDatabase('faults_two');
const prefix = uniquePrefix('ftwo');
const instances: { child: ChildProcess; url: string; exited: Promise<unknown> }[] = [];
const pool = createPool({ connectionString: database.url, max: 6 });
const db = createKysely<Database>(pool);
afterAll(async () => {
  for (const { child, exited } of instances) {
    child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)])) === false) child.kill('SIGKILL');
  }
  await pool.end();
});

/** `npm start` with every role, on its own port; resolves once /health answers. Logs (warn+) to a temp file. */
async function startInstance(name: string): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  const port = await freePort();
  const log = createWriteStream(join(tmpdir(), `faults-${prefix}-${name}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      NATS_URL: TEST_NATS_URL,
      NATS_PREFIX: prefix,
      SMTP_URL: sink.url,
      PORT: String(port),
      TRACKING_SECRET: 'faults-two-instances-tracking-secret-0123456789',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const instance = { child, url: `http://127.0.0.1:${port}`, exited };
  instances.push(instance);
  await waitFor(async () => (await fetch(`${instance.url}/health`).catch(() => null))?.ok === true, `instance ${name} to answer /health`, 90_000);
  return instance;
}

async function graphql(url: string, key: string, query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!;
}

describe('two app instances, every role each', () => {
  it('a workload and a launch: nothing applied twice, one email per recipient, read models equal a fresh rebuild', async () => {
    const [a, b] = await Promise.all([startInstance('a'), startInstance('b')]);
    const store = await openEventStore(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }), pool);
    try {
      const demo = await createDemoWorkspace(db);
      // Through both APIs: templates created over GraphQL, alternating instances.
      const CREATE_TEMPLATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { templateId } }`;
      for (let i = 0; i < 20; i++) {
        await graphql(i % 2 === 0 ? a.url : b.url, demo.apiKey, CREATE_TEMPLATE, { input: { name: `two-${i}`, subject: 'Hi {{ contact.email }}', html: '<p>x</p>' } });
      }
      const workload = new BusinessWorkload(store, demo.workspaceId);
      await workload.runUntil(() => false, 30);
      const world = await importContacts(store, demo, 200);
      const { campaignId } = await createDemoCampaign(store, world);
      await projectionsCaughtUp(store, db);
      await graphql(b.url, demo.apiKey, `mutation($id: ID!) { launchCampaign(input: { campaignId: $id }) { receipt { position } } }`, { id: campaignId });
      await waitFor(async () => (await loadLaunch(store, campaignId)).state.status === 'completed', 'the launch to complete', 120_000);
      await waitFor(async () => (await db.selectFrom('campaigns').select('status').where('id', '=', campaignId).executeTakeFirst())?.status === 'completed', 'the campaign read model to say completed');

      const sent = sink.accepted.filter((m) => m.messageId.startsWith(campaignId));
      for (const email of world.eligible) expect(sink.countFor(email), email).toBe(1);
      for (const email of world.ineligible) expect(sink.countFor(email), email).toBe(0);
      expect(sent).toHaveLength(world.eligible.length);
      const byWorker = await db.selectFrom('delivery_ledger').select('claimed_by').where('campaign_id', '=', campaignId).execute();
      await projectionsCaughtUp(store, db);
      const stats = await db.selectFrom('campaign_stats').select(['variant_key', 'sent']).where('campaign_id', '=', campaignId).execute();
      expect(stats.reduce((sum, s) => sum + (s.variant_key === '' ? 0 : s.sent), 0)).toBe(world.eligible.length);
      const facts = await expectExactReadModels(store, db);
      await recordFigures('e_two_app_instances', {
        instances: 2,
        graphqlCommands: 21,
        workloadCommands: workload.commands,
        recipients: world.eligible.length,
        emails: sent.length,
        duplicates: sent.length - new Set(sent.map((m) => m.messageId)).size,
        deliveryWorkers: new Set(byWorker.map((r) => r.claimed_by)).size,
        ...facts,
      });
    } finally {
      await store.close();
    }
  }, 300_000);
});
