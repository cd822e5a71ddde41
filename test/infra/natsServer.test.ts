import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/infra/config.js';
import { silentLogger } from '../../src/infra/logger.js';
import { resolveNats, type ResolvedNats } from '../../src/infra/natsServer.js';
import { isProcessAlive } from '../../src/infra/osProcess.js';
import { TEST_NATS_URL } from '../support/nats.js';
import { freePort } from './freePort.js';

const dataDir = await mkdtemp(join(tmpdir(), 'mkt-nats-'));
const base: Config = { ...loadConfig({}), dataDir };
const resolved: ResolvedNats[] = [];

afterAll(async () => {
  for (const nats of resolved) await nats.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('resolveNats', () => {
  it('uses the NATS that answers at NATS_URL and starts nothing', async () => {
    const nats = await resolveNats({ ...base, natsUrl: TEST_NATS_URL }, silentLogger);
    resolved.push(nats);
    expect(nats).toMatchObject({ url: TEST_NATS_URL, started: false, pid: undefined });
    await expect(stat(join(dataDir, 'nats'))).rejects.toThrow(/ENOENT/);
  });

  it('starts nats-server with JetStream on a free loopback port, and stop() ends it', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const nats = await resolveNats({ ...base, natsUrl: url }, silentLogger);
    resolved.push(nats);
    expect(nats).toMatchObject({ url, started: true });
    expect(await isProcessAlive(nats.pid!)).toBe(true);

    const nc = await connect({ servers: url });
    const info = await (await jetstreamManager(nc)).getAccountInfo();
    expect(info.limits).toBeDefined();
    await nc.close();
    expect((await stat(join(dataDir, 'nats', 'nats-server.log'))).size).toBeGreaterThan(0);

    await nats.stop();
    expect(await isProcessAlive(nats.pid!)).toBe(false);
    await expect(connect({ servers: url, timeout: 1_000, reconnect: false })).rejects.toThrow();
  });

  it('without a nats-server binary, fails with a message that says how to start NATS', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'mkt-nobin-'));
    const url = `nats://127.0.0.1:${await freePort()}`;
    try {
      const attempt = resolveNats({ ...base, natsUrl: url }, silentLogger, { searchDirs: [emptyDir] });
      await expect(attempt).rejects.toThrow(`NATS is unreachable at NATS_URL=${url}`);
      await expect(attempt).rejects.toThrow(/no nats-server binary was found.*`nats-server -js`.*set NATS_URL.*docker compose/);
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});
