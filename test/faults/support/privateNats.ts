/**
 * A private nats-server (JetStream, its own store directory, a free port) that a fault test may stop and start
 * again; the machine's NATS on 4222 is never touched. Started through the product's resolveNats.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/infra/config.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { resolveNats, type ResolvedNats } from '../../../src/infra/natsServer.js';
import { freePort } from '../../infra/freePort.js';

export interface PrivateNats {
  readonly url: string;
  /** Stops the server (SIGTERM, waits for its exit), waits `downMs`, starts it again on the same port and store. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const dataDir = await mkdtemp(join(tmpdir(), 'faults-nats-'));
  const url = `nats://127.0.0.1:${await freePort()}`;
  const start = async () => {
    const server = await resolveNats(loadConfig({ NATS_URL: url, DATA_DIR: dataDir }), silentLogger);
    if (!server.started) throw new Error(`something else answers on ${url}`);
    return server;
  };
  let server: ResolvedNats | null = await start();
  return {
    url,
    async restart(downMs) {
      await server?.stop();
      server = null;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await start();
    },
    async stop() {
      await server?.stop();
      server = null;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
