import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { readRelayCheckpoint } from '../../src/eventstore/relay/checkpoint.js';
import { silentLogger } from '../../src/infra/logger.js';
import { useApiTestEnv, type ApiTestEnv } from '../api/support.js';
import { newEvent } from '../eventstore/contract.js';
import { TEST_NATS_URL, uniquePrefix } from '../support/nats.js';

let env: ApiTestEnv;
let relay: Relay;
const prefix = uniquePrefix('example');

beforeAll(async () => {
  env = await useApiTestEnv('example');
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  relay.start();
});
afterAll(() => relay.stop());

function follow(args: string[]): Promise<{ lines: { position: string; type: string; streamId: string }[]; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/follow-events.ts', ...args, '--idle-exit-ms', '1000'], {
      env: { ...process.env, NATS_URL: TEST_NATS_URL, NATS_PREFIX: prefix },
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += String(chunk)));
    child.on('exit', (code) => resolve({ code, lines: out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) }));
  });
}

describe('examples/follow-events.ts', () => {
  it('follows one category from a position with a durable consumer, and resumes where it left off', async () => {
    const campaign = `campaign-${randomUUID()}`;
    await env.eventStore.append(campaign, [newEvent('CampaignCreated'), newEvent('CampaignScheduled')], { expectedRevision: 'no_stream' });
    await env.eventStore.append(`contact-${randomUUID()}`, [newEvent('ContactCreated')], { expectedRevision: 'no_stream' });
    const from = (await env.eventStore.headPosition())!;
    await env.eventStore.append(campaign, [newEvent('CampaignLaunched')], { expectedRevision: 1 });
    const head = (await env.eventStore.headPosition())!;
    for (let i = 0; i < 100 && (await readRelayCheckpoint(env.db, `${prefix}/default`)) !== head; i++) await new Promise((r) => setTimeout(r, 50));

    const first = await follow(['--category', 'campaign', '--durable', 'svc', '--from', String(from)]);
    expect(first.code).toBe(0);
    expect(first.lines.map((l) => [l.type, l.streamId])).toEqual([['CampaignLaunched', campaign]]);

    await env.eventStore.append(campaign, [newEvent('CampaignCompleted')], { expectedRevision: 2 });
    const again = await follow(['--category', 'campaign', '--durable', 'svc', '--from', '0']);
    // The durable consumer acknowledged everything before: only the new event arrives.
    expect(again.lines.map((l) => l.type)).toEqual(['CampaignCompleted']);
  }, 30_000);

  it('refuses bad usage with exit code 2', async () => {
    const result = await follow(['--from', 'x']);
    expect(result.code).toBe(2);
  });
});
