import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/**
 * Small helpers about operating-system processes, used to find, adopt and stop the database and NATS servers
 * we run as children. Linux details come from /proc; elsewhere they degrade to "unknown" (undefined).
 */

/** Alive = the pid exists and is not a zombie (a zombie answers `kill -0` but runs nothing). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = await procStat(pid);
  return state?.state !== 'Z';
}

/** The process's command line (arguments joined by spaces), or undefined when it cannot be read. */
export async function processCommandLine(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part) => part !== '').join(' ');
  } catch {
    return undefined;
  }
}

/**
 * When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat). Together with the pid
 * it names one process even after the pid is reused.
 */
export async function processStartTicks(pid: number): Promise<string | undefined> {
  return (await procStat(pid))?.startTicks;
}

async function procStat(pid: number): Promise<{ state: string; startTicks: string } | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces; fields after it are plain.
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const startTicks = fields[19];
    return state !== undefined && startTicks !== undefined ? { state, startTicks } : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until the process is gone; false when it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Sends `signal`, waits up to `timeoutMs`, then SIGKILL. Resolves once the process is gone. */
export async function terminateProcess(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return; // already gone
  }
  if (await waitForExit(pid, timeoutMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 5_000);
}

/** Directories searched for executables: the PATH entries plus `extra` (deduplicated, in order). */
export function executableSearchDirs(pathEnv: string | undefined = process.env.PATH, extra: readonly string[] = []): string[] {
  const dirs = (pathEnv ?? '').split(delimiter).filter((dir) => dir !== '');
  return [...new Set([...dirs, ...extra])];
}

/** The first `dir/name` that is an executable file, or undefined. */
export async function findExecutable(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `work`, or the error from `onTimeout` after `ms` (the work itself is not cancelled). */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A readable one-line cause for an error from a client library (AggregateError and empty messages included). */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(describeError))].join('; ');
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error.message !== '') return error.message;
    return code ?? error.name;
  }
  return error === undefined ? 'no reason given' : String(error);
}
