/**
 * PostgreSQL restarted while three writers append concurrently (every role of the engine runs in this process,
 * composed as `npm start` does, on a private embedded PostgreSQL that the test stops and starts again; NATS is
 * the machine's, under this file's own prefix). Appends that fail with EVENT_STORE_UNAVAILABLE are retried by the
 * writer with the same commandId. Afterwards: no command's events lost, none appended twice, positions dense,
 * and the read models equal a fresh rebuild, with no manual step.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infra/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/infra/embeddedPostgres.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createDemoWorkspace } from '../../src/sagas/demo/seed.js';
import { startStack, type Stack } from '../../src/sagas/demo/stack.js';
import { freePort } from '../infra/freePort.js';
import { TEST_NATS_URL, uniquePrefix } from '../support/nats.js';
import { readWholeLog } from '../support/rebuildCompare.js';
import { expectExactReadModels, projectionsCaughtUp, sleep } from './support/checks.js';
import { recordFigures } from './support/figures.js';
import { BusinessWorkload } from './support/workload.js';

let dataDir: string;
let port: number;
let server: EmbeddedPostgres;
let stack: Stack;

const startPostgres = () => startEmbeddedPostgres({ dataDir, port, logger: silentLogger });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'faults-pg-'));
  port = await freePort();
  server = await startPostgres();
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: server.url, NATS_URL: TEST_NATS_URL, NATS_PREFIX: uniquePrefix('fpg'), PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
  // FAULTS_LOG=<file> keeps the engine's warnings of a run, to see how it went through the faults.
  stack = await startStack(config, process.env.FAULTS_LOG === undefined ? silentLogger : pino({ level: 'warn' }, pino.destination(process.env.FAULTS_LOG)));
}, 120_000);
afterAll(async () => {
  await Promise.race([stack?.stop(), sleep(20_000)]);
  await server?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('PostgreSQL restarted during appends', () => {
  it('retried commands land exactly once, positions stay dense, read models equal a fresh rebuild', async () => {
    const { workspaceId } = await createDemoWorkspace(stack.db);
    const writers = Array.from({ length: 3 }, () => new BusinessWorkload(stack.eventStore, workspaceId, { retryDelayMs: 100 }));
    let injecting = true;
    const running = Promise.all(writers.map((w) => w.runUntil(() => !injecting)));
    const RESTARTS = 3;
    for (let i = 0; i < RESTARTS; i++) {
      await sleep(1_500);
      await server.stop();
      await sleep(1_000);
      server = await startPostgres();
    }
    await sleep(1_500);
    injecting = false;
    const rounds = (await running).reduce((a, b) => a + b, 0);
    const retries = writers.reduce((n, w) => n + w.retries, 0);
    expect(retries, 'some appends failed while PostgreSQL was down and were retried').toBeGreaterThan(0);

    // Every command that succeeded is in the log, and only those; a command's events form one run per stream.
    const log = await readWholeLog(stack.eventStore);
    const appended = new Set(writers.flatMap((w) => w.appendedCommandIds));
    const byCommand = new Map<string, Map<string, number[]>>();
    for (const event of log) {
      const commandId = event.metadata.commandId ?? '';
      const streams = byCommand.get(commandId) ?? new Map<string, number[]>();
      streams.set(event.streamId, [...(streams.get(event.streamId) ?? []), event.revision]);
      byCommand.set(commandId, streams);
    }
    expect(new Set(byCommand.keys())).toEqual(appended);
    for (const streams of byCommand.values()) {
      for (const revisions of streams.values()) expect(revisions).toEqual(revisions.map((_, i) => revisions[0]! + i));
    }

    await projectionsCaughtUp(stack.eventStore, stack.db, 30_000);
    const facts = await expectExactReadModels(stack.eventStore, stack.db);
    await recordFigures('c_postgres_restart_during_appends', {
      postgresRestarts: RESTARTS,
      postgresDownMsEach: 1_000,
      writers: writers.length,
      rounds,
      commands: writers.reduce((n, w) => n + w.commands, 0),
      failedAttemptsRetried: retries,
      ...facts,
    });
  }, 240_000);
});
