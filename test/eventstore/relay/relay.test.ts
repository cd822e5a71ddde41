import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { readRelayCheckpoint } from '../../../src/eventstore/relay/checkpoint.js';
import { eventStreamName } from '../../../src/infra/jetstream.js';
import { silentLogger } from '../../../src/infra/logger.js';
import type { EventStore } from '../../../src/eventstore/port.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { readStreamMessages, TEST_NATS_URL, uniquePrefix, useNats } from '../../support/nats.js';
import { useTestDatabase } from '../../support/postgres.js';
import { newEvent } from '../contract.js';

let url: string;
let pool: pg.Pool;
let db: Kysely<Database>;
let store: EventStore;
let nats: NatsConnection;
const prefixes: string[] = [];

beforeAll(async () => {
  url = (await useTestDatabase('relay')).url;
  pool = createPool({ connectionString: url, max: 10 });
  await migrateEventStore(pool);
  db = createKysely<Database>(pool);
  await migrateReadModels(db);
  store = createPostgresEventStore({ pool, idlePollMs: 50 });
  nats = await useNats('trelay');
});
afterAll(async () => {
  const jsm = await jetstreamManager(nats);
  for (const prefix of prefixes) await jsm.streams.delete(eventStreamName(prefix)).catch(() => {});
  await store.close();
  await pool.end();
});

function freshPrefix(): string {
  const prefix = uniquePrefix('relay');
  prefixes.push(prefix);
  return prefix;
}

function relayFor(prefix: string, name = 'default'): Relay {
  return new Relay({ store, db, pool, nats, prefix, logger: silentLogger, name, checkpointEveryMs: 20, standbyRetryMs: 50 });
}

async function appendMany(streams: string[], perStream: number): Promise<void> {
  for (let i = 0; i < perStream; i++) {
    await Promise.all(streams.map((s) => store.append(s, [newEvent('Step', { i })], { expectedRevision: i === 0 ? 'no_stream' : i - 1 })));
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const messageCount = async (prefix: string) => (await jetstreamManager(nats)).streams.info(eventStreamName(prefix)).then((i) => i.state.messages, () => 0);

/** The test streams' events in JetStream: every one exactly once and in per-stream order. */
function expectExactlyOnceInOrder(messages: Awaited<ReturnType<typeof readStreamMessages>>, streams: string[], perStream: number) {
  const bodies = messages.map((m) => m.body as { id: string; streamId: string; revision: number });
  expect(new Set(bodies.map((b) => b.id)).size).toBe(bodies.length);
  for (const streamId of streams) {
    expect(bodies.filter((b) => b.streamId === streamId).map((b) => b.revision)).toEqual(Array.from({ length: perStream }, (_, i) => i));
  }
}

describe('relay to JetStream', () => {
  it('publishes each event with subject, Nats-Msg-Id, position headers and the JSON envelope', async () => {
    const prefix = freshPrefix();
    const start = (await store.headPosition()) ?? 0n;
    const streamId = `campaign-${randomUUID()}`;
    await store.append(streamId, [newEvent('CampaignCreated', { name: 'Spring' }), newEvent('CampaignScheduled', { at: '2026-12-01T09:00:00Z' })], { expectedRevision: 'no_stream' });
    const relay = relayFor(prefix);
    relay.start();
    const total = Number(await store.headPosition());
    await waitFor(async () => (await messageCount(prefix)) === total);
    await waitFor(async () => (await readRelayCheckpoint(db, `${prefix}/default`)) === BigInt(total));
    await relay.stop();
    const messages = (await readStreamMessages(nats, eventStreamName(prefix))).slice(Number(start));
    expect(messages.map((m) => m.subject)).toEqual([
      `${prefix}.events.campaign.${streamId}.CampaignCreated`,
      `${prefix}.events.campaign.${streamId}.CampaignScheduled`,
    ]);
    const [first, second] = messages;
    const stored = await store.readStream(streamId);
    if (stored.status !== 'found') throw new Error('missing');
    expect(first!.headers['Nats-Msg-Id']).toBe(stored.events[0]!.id);
    expect(first!.headers['Mkt-Position']).toBe(String(stored.events[0]!.position));
    expect(second!.headers['Mkt-Previous-Position']).toBe(String(stored.events[0]!.position));
    expect(first!.body).toMatchObject({ id: stored.events[0]!.id, type: 'CampaignCreated', streamId, revision: 0, position: String(stored.events[0]!.position), data: { name: 'Spring' } });
  });

  it('killed (SIGKILL) after JetStream acknowledged events but before their checkpoint: after restart every event is in JetStream exactly once, in per-stream order', async () => {
    const prefix = freshPrefix();
        const streams = Array.from({ length: 5 }, () => `contact-${randomUUID()}`);
    await appendMany(streams, 40);
    const head = (await store.headPosition())!;
    const crashAt = head - 70n;

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/crashingRelay.ts'], {
      env: { ...process.env, DATABASE_URL: url, NATS_URL: TEST_NATS_URL, NATS_PREFIX: prefix, CRASH_AT_POSITION: String(crashAt) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal, stderr).toBe('SIGKILL');

    const checkpoint = (await readRelayCheckpoint(db, `${prefix}/default`)) ?? 0n;
    const publishedBeforeCrash = await messageCount(prefix);
    // The crash window really was hit: JetStream holds events the checkpoint does not cover.
    expect(BigInt(publishedBeforeCrash)).toBeGreaterThanOrEqual(crashAt);
    expect(checkpoint).toBeLessThan(crashAt);

    const relay = relayFor(prefix);
    relay.start();
    await waitFor(async () => (await readRelayCheckpoint(db, `${prefix}/default`)) === head);
    await relay.stop();
    const messages = await readStreamMessages(nats, eventStreamName(prefix));
    expect(messages).toHaveLength(Number(head));
    expectExactlyOnceInOrder(messages, streams, 40);
  });

  it('two relays: one is active, the other stands by and takes over when it stops, without duplicates', async () => {
    const prefix = freshPrefix();
        const first = relayFor(prefix);
    const second = relayFor(prefix);
    first.start();
    await waitFor(async () => first.status.active);
    second.start();
    const streams = Array.from({ length: 4 }, () => `segment-${randomUUID()}`);
    await appendMany(streams, 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(second.status.active).toBe(false);
    await first.stop();
    await waitFor(async () => second.status.active);
    await appendMany(streams.map(() => `segment-${randomUUID()}`), 5);
    const head = (await store.headPosition())!;
    await waitFor(async () => (await readRelayCheckpoint(db, `${prefix}/default`)) === head);
    await second.stop();
    const messages = await readStreamMessages(nats, eventStreamName(prefix));
    expect(messages).toHaveLength(Number(head));
    expectExactlyOnceInOrder(messages, streams, 10);
  });

  it('heals a lost JetStream stream by replaying the store', async () => {
    const prefix = freshPrefix();
        const relay = relayFor(prefix);
    relay.start();
    const head = (await store.headPosition())!;
    await waitFor(async () => (await readRelayCheckpoint(db, `${prefix}/default`)) === head);
    await relay.stop();
    await (await jetstreamManager(nats)).streams.delete(eventStreamName(prefix));
    const again = relayFor(prefix);
    again.start();
    await waitFor(async () => (await messageCount(prefix)) === Number(head));
    await again.stop();
    expect(await messageCount(prefix)).toBe(Number(head));
  });
});
