import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeError, isProcessAlive, processCommandLine, processStartTicks } from './osProcess.js';

/**
 * The files around an embedded PostgreSQL cluster under `<dataDir>`:
 * - `pg/`                    the cluster (owned by the `postgres` OS user when we are root; 0700)
 * - `pg/postmaster.pid`      PostgreSQL's own lock file: pid (line 1), data directory (2), port (4)
 * - `pg-credentials.json`    superuser name and generated password (mode 0600; password auth, scram-sha-256)
 * - `pg-owner.json`          which process of ours started the running server, so that another process
 *                            attaches instead of starting a second one, and an orphan (owner killed) is adopted
 */

export interface ClusterPaths {
  readonly dataDir: string;
  readonly cluster: string;
  readonly lockFile: string;
  readonly credentials: string;
  readonly owner: string;
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface Owner {
  readonly pid: number;
  readonly startTicks: string | undefined;
  readonly postmasterPid: number;
}

export interface LockHolder {
  readonly pid: number;
  readonly port: number | undefined;
}

export function clusterPaths(dataDir: string): ClusterPaths {
  const root = resolve(dataDir);
  const cluster = join(root, 'pg');
  return {
    dataDir: root,
    cluster,
    lockFile: join(cluster, 'postmaster.pid'),
    credentials: join(root, 'pg-credentials.json'),
    owner: join(root, 'pg-owner.json'),
  };
}

export async function isInitialised(paths: ClusterPaths): Promise<boolean> {
  return exists(join(paths.cluster, 'PG_VERSION'));
}

/** Reads the credentials; creates them (random password) before the cluster's first initialisation. */
export async function loadOrCreateCredentials(paths: ClusterPaths, initialised: boolean): Promise<Credentials> {
  await mkdir(paths.dataDir, { recursive: true });
  const existing = await readCredentials(paths);
  if (existing !== undefined) return existing;
  if (initialised) {
    throw new Error(
      `The embedded PostgreSQL cluster ${paths.cluster} exists but its credentials file ${paths.credentials} is missing. ` +
        `Restore the file, or delete ${paths.cluster} to start over with an empty database (this deletes its data).`,
    );
  }
  const credentials: Credentials = { user: 'postgres', password: randomBytes(24).toString('base64url') };
  try {
    await writeFile(paths.credentials, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process of ours created it a moment ago: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateCredentials(paths, initialised);
    throw error;
  }
  return credentials;
}

async function readCredentials(paths: ClusterPaths): Promise<Credentials | undefined> {
  let raw: string;
  try {
    raw = await readFile(paths.credentials, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read ${paths.credentials}: ${describeError(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const { user, password } = (parsed ?? {}) as Partial<Record<'user' | 'password', unknown>>;
  if (typeof user !== 'string' || typeof password !== 'string') {
    throw new Error(`${paths.credentials} must be JSON {"user": "...", "password": "..."}`);
  }
  await chmod(paths.credentials, 0o600);
  return { user, password };
}

/**
 * The live postmaster that holds the cluster's lock file, or undefined. A lock file whose pid is dead, or is
 * now some other process (pid reused), is stale: it is removed, and `onStale` is told why.
 */
export async function lockHolder(paths: ClusterPaths, onStale: (reason: string) => void): Promise<LockHolder | undefined> {
  let raw: string;
  try {
    raw = await readFile(paths.lockFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = raw.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && (await isProcessAlive(pid))) {
    const commandLine = await processCommandLine(pid);
    // Without /proc we cannot tell; assume it is the postmaster and let the caller wait for it to answer.
    if (commandLine === undefined || commandLine.includes(paths.cluster)) {
      return { pid, port: Number.isInteger(port) ? port : undefined };
    }
    onStale(`pid ${pid} is now another process (${commandLine.slice(0, 80)})`);
  } else {
    onStale(Number.isInteger(pid) ? `pid ${pid} is not running` : 'it has no pid');
  }
  await rm(paths.lockFile, { force: true });
  return undefined;
}

export async function readOwner(paths: ClusterPaths): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(paths.owner, 'utf8')) as Partial<Owner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.postmasterPid !== 'number') return undefined;
    return { pid: parsed.pid, startTicks: parsed.startTicks, postmasterPid: parsed.postmasterPid };
  } catch {
    return undefined;
  }
}

/** True when the owner process is still running (same pid and, where known, same start time). */
export async function isOwnerAlive(owner: Owner): Promise<boolean> {
  if (!(await isProcessAlive(owner.pid))) return false;
  const ticks = await processStartTicks(owner.pid);
  return owner.startTicks === undefined || ticks === undefined || ticks === owner.startTicks;
}

export async function writeOwner(paths: ClusterPaths, postmasterPid: number): Promise<void> {
  const owner: Owner = { pid: process.pid, startTicks: await processStartTicks(process.pid), postmasterPid };
  await writeFile(paths.owner, `${JSON.stringify(owner)}\n`, { mode: 0o644 });
}

export async function removeOwnerIfOurs(paths: ClusterPaths): Promise<void> {
  const owner = await readOwner(paths);
  if (owner?.pid === process.pid) await rm(paths.owner, { force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
