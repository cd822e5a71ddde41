/**
 * The relay killed in a loop: a relay process (test/faults/support/relayProcess.ts) is started, left to publish
 * for a few hundred milliseconds and SIGKILLed, again and again, while a writer appends. After the last kill a
 * relay runs to the end. Every event must be in JetStream exactly once (republishing after a kill is dropped by
 * Nats-Msg-Id de-duplication), and the projections (in this process) must equal a fresh rebuild. Database and
 * NATS are this file's own database and prefix on the machine's servers (neither is restarted here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStore } from '../../src/eventstore/open.js';
import { loadConfig } from '../../src/infra/config.js';
import { eventStreamName } from '../../src/infra/jetstream.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { PROJECTIONS } from '../../src/projections/index.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { createDemoWorkspace } from '../../src/sagas/demo/seed.js';
import { readStreamMessages, TEST_NATS_URL, uniquePrefix, useNats } from '../support/nats.js';
import { useTestDatabase } from '../support/postgres.js';
import { expectExactReadModels, projectionsCaughtUp, sleep, waitFor } from './support/checks.js';
import { recordFigures } from './support/figures.js';
import { BusinessWorkload } from './support/workload.js';

const database = await useTestDatabase('faults_relay');
const prefix = uniquePrefix('frelay');
const nats = await useNats(prefix);
const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url, NATS_URL: TEST_NATS_URL, NATS_PREFIX: prefix, LOG_LEVEL: 'silent' });
const pool = createPool({ connectionString: database.url, max: 4 + 2 * PROJECTIONS.length });
const db = createKysely<Database>(pool);
await migrateReadModels(db);
const store = await openEventStore(config, pool);
const runners = PROJECTIONS.map((projection) => new ProjectionRunner({ projection, db, pool, nats, prefix, store, logger: silentLogger, standbyRetryMs: 100 }));
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const runner of runners) await runner.stop();
  await store.close();
  await pool.end();
});

/** A relay process, resolved once it said "ready"; `publishing` resolves once it has published an event. */
function startRelay(): Promise<ChildProcess & { publishing: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/faults/support/relayProcess.ts'], {
    env: { ...process.env, DATABASE_URL: database.url, NATS_URL: TEST_NATS_URL, NATS_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const publishing = new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('publishing') && resolve()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(Object.assign(child, { publishing })));
    child.once('exit', (code, signal) => reject(new Error(`relay child exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('relay killed in a loop', () => {
  it('every event published exactly once, projections exact', async () => {
    const began = Date.now();
    for (const runner of runners) runner.start();
    const { workspaceId } = await createDemoWorkspace(db);
    const writers = [new BusinessWorkload(store, workspaceId)];
    let writing = true;
    // Paced, so that the projections' work stays moderate however slowly the relay children start.
    const running = Promise.all(writers.map((w) => w.runUntil(() => !writing, 400, 200)));
    const KILL_AFTER_MS = [50, 900, 150, 1_500, 300, 600, 20, 1_200];
    const KILLS = KILL_AFTER_MS.length;
    const publishedAtKill: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const relay = await startRelay();
      // Killed while publishing: after it published something (the writers keep appending), or after 5 s anyway.
      await Promise.race([relay.publishing, sleep(5_000)]);
      await sleep(KILL_AFTER_MS[i]!); // some kills before the first checkpoint (a republished range), some after
      await kill(relay);
      const row = await db.selectFrom('relay_checkpoints').select('position').executeTakeFirst();
      publishedAtKill.push(row?.position ?? '0');
    }
    writing = false;
    // The relays made progress between kills (each restarted relay resumed from its predecessor's checkpoint).
    expect(BigInt(publishedAtKill.at(-1)!)).toBeGreaterThan(BigInt(publishedAtKill[0]!));
    const rounds = (await running).reduce((a, b) => a + b, 0);
    const killLoopSeconds = (Date.now() - began) / 1000;
    const last = await startRelay();
    try {
      const head = (await store.headPosition())!;
      await waitFor(async () => BigInt((await db.selectFrom('relay_checkpoints').select('position').executeTakeFirst())?.position ?? '0') >= head, 'the last relay to publish the head', 60_000);
      await projectionsCaughtUp(store, db);
    } finally {
      await kill(last);
    }
    // JetStream holds every event exactly once, in order.
    const messages = await readStreamMessages(nats, eventStreamName(prefix));
    const positions = messages.map((m) => (m.body as { position: string }).position);
    const head = (await store.headPosition())!;
    expect(positions).toEqual(Array.from({ length: Number(head) }, (_, i) => String(i + 1)));
    expect(new Set(messages.map((m) => m.headers['Nats-Msg-Id'])).size).toBe(messages.length);
    const info = await (await jetstreamManager(nats)).streams.info(eventStreamName(prefix));
    const facts = await expectExactReadModels(store, db);
    expect(BigInt(facts.events)).toBe(head);
    await recordFigures('d_relay_killed_in_a_loop', {
      relayKills: KILLS,
      killLoopSeconds,
      totalSeconds: (Date.now() - began) / 1000,
      killedMsAfterFirstPublish: KILL_AFTER_MS,
      relayCheckpointAtEachKill: publishedAtKill,
      rounds,
      commands: writers.reduce((n, w) => n + w.commands, 0),
      messagesInJetStream: info.state.messages,
      ...facts,
    });
  }, 300_000);
});
