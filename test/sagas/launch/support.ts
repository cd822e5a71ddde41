/**
 * A launch world for one test file: its own database and NATS prefix, the real pipeline (relay + projection
 * runners for contacts, segments, templates and campaigns), a real SMTP sink, and launch saga workers on demand.
 * Data goes in through the real deciders and the command handler, as the API would write it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, expect } from 'vitest';
import type { GraphQLSlice } from '../../../src/api/graphql/context.js';
import type { CampaignCommand } from '../../../src/domain/campaigns/commands.js';
import type { ContactCommand } from '../../../src/domain/contacts/commands.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import { contactStreamId, type AttributeValue } from '../../../src/domain/contacts/events.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { segmentDecider } from '../../../src/domain/segments/decide.js';
import { segmentSchemaVersionOf } from '../../../src/domain/segments/events.js';
import type { Rule } from '../../../src/domain/segments/rules.js';
import type { CommandContext } from '../../../src/domain/shared/decider.js';
import { templateDecider } from '../../../src/domain/templates/decide.js';
import { templateSchemaVersionOf, templateStreamId } from '../../../src/domain/templates/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { createPool } from '../../../src/infra/postgres.js';
import { campaignsProjections } from '../../../src/projections/campaigns/index.js';
import { contactsProjections } from '../../../src/projections/contacts/index.js';
import { listParkedEvents, waitForProjection } from '../../../src/projections/runner/queries.js';
import { ProjectionRunner, type Projection } from '../../../src/projections/runner/projectionRunner.js';
import { segmentsProjections } from '../../../src/projections/segments/index.js';
import { templatesProjections } from '../../../src/projections/templates/index.js';
import { createSmtpSender, type SmtpSenderOptions } from '../../../src/sagas/delivery/smtpSender.js';
import { LaunchSagaWorker, type LaunchSagaDeps } from '../../../src/sagas/launch/handler.js';
import { loadLaunch, runCampaignCommand } from '../../../src/sagas/launch/streams.js';
import type { LaunchStatus } from '../../../src/sagas/launch/workflow.js';
import { seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../../api/support.js';
import { uniquePrefix } from '../../support/nats.js';
import { useSmtpSink, type SmtpSink } from '../../support/smtpSink.js';
import { SECRET, SENDER, TEST_SETTINGS } from './settings.js';

export { SECRET, SENDER, SINGLE_WORKER_SETTINGS, TEST_SETTINGS } from './settings.js';
const PROJECTIONS: readonly Projection[] = [...contactsProjections, ...segmentsProjections, ...templatesProjections, ...campaignsProjections];

export interface LaunchWorld {
  readonly env: ApiTestEnv;
  readonly prefix: string;
  readonly sink: SmtpSink;
  readonly workspaceId: string;
  /** API keys of the world's workspace, one per role. */
  readonly keys: SeededWorkspace['keys'];
  /** Every projection has applied the store's head. */
  caughtUp(): Promise<void>;
  /** A running worker (stopped after the file, or by the caller). */
  startWorker(overrides?: Partial<LaunchSagaDeps> & { smtp?: Partial<SmtpSenderOptions> }): LaunchSagaWorker;
  context(commandId?: string): CommandContext;
}

export async function useLaunchWorld(label: string): Promise<LaunchWorld> {
  const env = await useApiTestEnv(label);
  const prefix = uniquePrefix(label);
  const sink = await useSmtpSink();
  const { workspaceId, keys } = await seedWorkspace(env.db);
  const pipelinePool = createPool({ connectionString: env.url, max: PROJECTIONS.length + 3 });
  const relay = new Relay({ store: env.eventStore, db: env.db, pool: pipelinePool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  const runners = PROJECTIONS.map((projection) => new ProjectionRunner({ projection, db: env.db, pool: pipelinePool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, standbyRetryMs: 100 }));
  relay.start();
  for (const runner of runners) runner.start();
  const workers: LaunchSagaWorker[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    for (const close of closers) await close();
    for (const runner of runners) await runner.stop();
    await relay.stop();
    await pipelinePool.end();
  });
  return {
    env,
    prefix,
    sink,
    workspaceId,
    keys,
    async caughtUp() {
      const head = await env.eventStore.headPosition();
      if (head === null) return;
      for (const projection of PROJECTIONS) expect(await waitForProjection(env.db, projection.name, head, 15_000), `${projection.name} reached ${head}`).toBe(true);
      expect(await listParkedEvents(env.db)).toEqual([]);
    },
    startWorker(overrides = {}) {
      const { smtp, ...deps } = overrides;
      const sender = createSmtpSender({ smtpUrl: sink.url, logger: silentLogger, ratePerSecond: 1_000, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 100, timeoutsMs: { connection: 2_000, greeting: 2_000, socket: 5_000 }, ...smtp });
      const pool = createPool({ connectionString: env.url, max: 10 });
      closers.push(async () => {
        await sender.close();
        await pool.end();
      });
      const worker = new LaunchSagaWorker({
        eventStore: env.eventStore,
        db: env.db,
        pool,
        nats: env.nats,
        prefix,
        logger: silentLogger,
        sender,
        trackingSecret: SECRET,
        publicBaseUrl: 'https://t.example.com',
        reconciler: sink.reconciler(),
        ...deps,
        settings: { ...TEST_SETTINGS, ...deps.settings },
      });
      worker.start();
      workers.push(worker);
      return worker;
    },
    context(commandId = randomUUID()) {
      return { commandId, correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId };
    },
  };
}

const NOW = () => new Date().toISOString();

export interface ContactSpec {
  readonly email: string;
  readonly tags?: readonly string[];
  /** Topics subscribed to (default: the world's `news`). */
  readonly topics?: readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** Creates contacts through the contact aggregate; returns their ids in order. */
export async function createContacts(world: LaunchWorld, specs: readonly ContactSpec[]): Promise<string[]> {
  const ids: string[] = [];
  for (const spec of specs) {
    const contactId = contactIdFor(world.workspaceId, spec.email.toLowerCase());
    const command: ContactCommand = {
      type: 'CreateContact',
      data: {
        contactId,
        email: spec.email,
        externalId: null,
        phone: null,
        attributes: spec.attributes ?? {},
        tags: [...(spec.tags ?? [])],
        subscriptions: (spec.topics ?? ['news']).map((topic) => ({ topic, consentTextVersion: 'v1', source: 'test' })),
        source: 'test',
        at: NOW(),
      },
    };
    await handleCommand(world.env.eventStore, contactDecider, contactStreamId(contactId), command, world.context());
    ids.push(contactId);
  }
  return ids;
}

export async function contactCommand(world: LaunchWorld, contactId: string, command: ContactCommand): Promise<void> {
  await handleCommand(world.env.eventStore, contactDecider, contactStreamId(contactId), command, world.context());
}

export async function defineSegment(world: LaunchWorld, rules: Rule): Promise<string> {
  const segmentId = `seg-${randomUUID().slice(0, 8)}`;
  await handleCommand(world.env.eventStore, segmentDecider, `segment-${segmentId}`, { type: 'DefineSegment', data: { segmentId, name: segmentId, description: null, rules, at: NOW() } }, world.context(), {
    schemaVersionOf: segmentSchemaVersionOf,
  });
  return segmentId;
}

export async function createTemplate(world: LaunchWorld, content: { subject: string; html: string; text?: string | null }): Promise<string> {
  const templateId = randomUUID();
  const data = { templateId, name: `t-${templateId.slice(0, 6)}`, subject: content.subject, html: content.html, text: content.text ?? null, at: NOW() };
  await handleCommand(world.env.eventStore, templateDecider, templateStreamId(templateId), { type: 'CreateTemplate', data }, world.context(), { schemaVersionOf: templateSchemaVersionOf });
  return templateId;
}

export interface CampaignSpec {
  readonly segmentId: string;
  readonly templateId: string;
  readonly topic?: string | null;
  readonly variants?: readonly { key: string; templateId: string; splitPercent: number; subject?: string | null }[];
}

/** A campaign ready to launch (draft). */
export async function createCampaign(world: LaunchWorld, spec: CampaignSpec): Promise<string> {
  const campaignId = randomUUID();
  const settings = { name: `c-${campaignId.slice(0, 6)}`, sender: SENDER, replyTo: null, segmentId: spec.segmentId, templateId: spec.templateId, templateVersion: 1, topic: spec.topic === undefined ? 'news' : spec.topic };
  await campaign(world, campaignId, { type: 'CreateCampaign', data: { campaignId, ...settings, at: NOW() } });
  if (spec.variants !== undefined) {
    const variants = spec.variants.map((v) => ({ key: v.key, templateId: v.templateId, templateVersion: 1, subject: v.subject ?? null, splitPercent: v.splitPercent }));
    await campaign(world, campaignId, { type: 'DefineCampaignVariants', data: { variants, testSamplePercent: 100, winnerMetric: 'open_rate', winnerAfterHours: null, at: NOW() } });
  }
  return campaignId;
}

export async function campaign(world: LaunchWorld, campaignId: string, command: CampaignCommand) {
  return runCampaignCommand(world.env.eventStore, campaignId, command, world.context());
}

export async function launch(world: LaunchWorld, campaignId: string): Promise<void> {
  await world.caughtUp();
  await campaign(world, campaignId, { type: 'LaunchCampaign', data: { at: NOW(), by: 'test', scheduledFor: null } });
}

/** Polls the launch stream until it is in one of `statuses` (fails after `timeoutMs`). */
export async function waitForLaunch(world: LaunchWorld, campaignId: string, statuses: readonly LaunchStatus[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = await loadLaunch(world.env.eventStore, campaignId);
    if (statuses.includes(loaded.state.status)) return loaded;
    if (Date.now() > deadline) throw new Error(`launch of ${campaignId} is ${loaded.state.status}, not ${statuses.join('|')}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const emailsOf = (count: number, prefix = randomUUID().slice(0, 6)) => Array.from({ length: count }, (_, i) => `${prefix}-${i}@example.org`);

/** Serves these GraphQL slices from buildServer even before schema.ts lists them in SLICES (a no-op after). */
export async function ensureSlices(...slices: readonly GraphQLSlice[]): Promise<void> {
  const { SLICES } = await import('../../../src/api/graphql/schema.js');
  // SLICES is a readonly view of a plain array; the GraphQL plugin reads it when a server is built.
  for (const slice of slices) if (!SLICES.some((s) => s.name === slice.name)) (SLICES as GraphQLSlice[]).push(slice);
}
