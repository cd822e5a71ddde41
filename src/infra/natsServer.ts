import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { type Config, redact } from './config.js';
import type { Logger } from './logger.js';
import { describeError, executableSearchDirs, findExecutable, sleep } from './osProcess.js';

export interface ResolvedNats {
  readonly url: string;
  /** True when this process started a nats-server (and `stop()` ends it). */
  readonly started: boolean;
  /** The started nats-server's pid; undefined when we use a server that was already running. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface ResolveNatsOptions {
  /** Directories searched for `nats-server`. Default: the PATH entries, then /usr/sbin and /usr/local/bin. */
  readonly searchDirs?: readonly string[];
  /** How long a connection attempt may take. Default 2 s. */
  readonly connectTimeoutMs?: number;
  /** How long a started nats-server may take to accept connections. Default 10 s. */
  readonly startTimeoutMs?: number;
}

/** The directories searched for the nats-server binary by default. */
export function natsServerSearchDirs(pathEnv: string | undefined = process.env.PATH): string[] {
  return executableSearchDirs(pathEnv, ['/usr/sbin', '/usr/local/bin']);
}

/**
 * The NATS the application uses: NATS_URL when a server answers there. Otherwise, when NATS_URL is a single
 * loopback address and a `nats-server` binary is installed, a nats-server with JetStream is started as a child
 * process (store `<dataDir>/nats`, log `<dataDir>/nats/nats-server.log`) and `stop()` ends it. Otherwise start-up
 * stops with a message that says how to provide NATS.
 */
export async function resolveNats(config: Config, logger: Logger, options: ResolveNatsOptions = {}): Promise<ResolvedNats> {
  const log = logger.child({ component: 'nats-server' });
  const url = config.natsUrl;
  const servers = url.split(',').map((server) => server.trim());
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const firstAttempt = await tryConnect(servers, connectTimeoutMs);
  if (firstAttempt === undefined) {
    log.info({ url: redact(url) }, 'using NATS at NATS_URL');
    return { url, started: false, pid: undefined, stop: async () => {} };
  }
  const unreachable = `NATS is unreachable at NATS_URL=${redact(url)} (${firstAttempt})`;
  const address = servers.length === 1 ? loopbackAddress(servers[0] ?? '') : undefined;
  if (address === undefined) throw new Error(`${unreachable}. ${HOW_TO_START}`);
  const binary = await findExecutable('nats-server', options.searchDirs ?? natsServerSearchDirs());
  if (binary === undefined) throw new Error(`${unreachable}, and no nats-server binary was found to start one. ${HOW_TO_START}`);
  return startNatsServer({ url, binary, ...address, storeDir: resolve(config.dataDir, 'nats'), logger: log, connectTimeoutMs, startTimeoutMs: options.startTimeoutMs ?? 10_000 });
}

const HOW_TO_START =
  'To provide NATS with JetStream: install nats-server (https://docs.nats.io/running-a-nats-service/introduction/installation) ' +
  'and run `nats-server -js`, or set NATS_URL to a reachable server, or start one with docker compose (a `nats` service running `nats -js`, port 4222).';

/** Host and port of a `nats://` URL on a loopback address (the only kind we start a server for), else undefined. */
function loopbackAddress(server: string): { host: string; port: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(server.includes('://') ? server : `nats://${server}`);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'nats:') return undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  return loopback ? { host, port: parsed.port === '' ? 4222 : Number(parsed.port) } : undefined;
}

/** Undefined when a NATS server answered (the connection is closed again), else the reason it did not. */
async function tryConnect(servers: readonly string[], timeoutMs: number): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: [...servers], timeout: timeoutMs, reconnect: false, maxReconnectAttempts: 0, name: 'marketing-engine-probe' });
    await nc.close();
    return undefined;
  } catch (error) {
    return describeError(error);
  }
}

interface StartOptions {
  readonly url: string;
  readonly binary: string;
  readonly host: string;
  readonly port: number;
  readonly storeDir: string;
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  readonly startTimeoutMs: number;
}

async function startNatsServer(options: StartOptions): Promise<ResolvedNats> {
  const { binary, host, port, storeDir, logger } = options;
  await mkdir(storeDir, { recursive: true });
  const logFile = join(storeDir, 'nats-server.log');
  // The server logs to the file itself (-l); its stdout/stderr go there too, for errors before logging is set up.
  const output = await open(logFile, 'a');
  const args = ['-a', host, '-p', String(port), '-js', '-sd', storeDir, '-l', logFile];
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', output.fd, output.fd] });
  } finally {
    await output.close();
  }
  let exited: string | undefined;
  let stopping = false;
  const exit = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      exited = describeError(error);
      resolve();
    });
    child.once('exit', (code, signal) => {
      exited = `it exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
      if (!stopping) logger.error({ code, signal, logFile }, 'nats-server exited unexpectedly');
      resolve();
    });
  });
  logger.info({ binary, args, pid: child.pid }, 'NATS unreachable at NATS_URL: starting nats-server');
  const began = Date.now();
  let lastReason = 'not ready';
  while (exited === undefined) {
    const reason = await tryConnect([options.url], options.connectTimeoutMs);
    if (reason === undefined) break;
    lastReason = reason;
    if (Date.now() - began > options.startTimeoutMs) break;
    await sleep(100);
  }
  // If the application exits without calling stop(), still end the server (same as a Ctrl-C to the process group).
  const onExit = (): void => {
    if (exited === undefined) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    stopping = true;
    process.removeListener('exit', onExit);
    if (exited !== undefined) return;
    // Our own child: its 'exit' event (after Node reaped it) is the reliable end, not polling its pid.
    child.kill('SIGTERM');
    if (await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)])) return;
    child.kill('SIGKILL');
    await exit;
  };
  if (exited !== undefined || Date.now() - began > options.startTimeoutMs) {
    const why = exited ?? `it did not accept connections within ${options.startTimeoutMs} ms (${lastReason})`;
    await stop();
    throw new Error(`NATS is unreachable at NATS_URL=${redact(options.url)} and starting ${binary} failed: ${why}.${await logTail(logFile)}\n${HOW_TO_START}`);
  }
  logger.info({ pid: child.pid, ms: Date.now() - began, storeDir }, 'nats-server started');
  let stopped: Promise<void> | undefined;
  return {
    url: options.url,
    started: true,
    pid: child.pid,
    stop: () =>
      (stopped ??= stop().then(() => {
        logger.info({ pid: child.pid }, 'nats-server stopped');
      })),
  };
}

async function logTail(logFile: string, lines = 15): Promise<string> {
  try {
    const tail = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-lines);
    return tail.length === 0 || tail[0] === '' ? '' : `\nLast lines of ${logFile}:\n  ${tail.join('\n  ')}`;
  } catch {
    return '';
  }
}
