import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/infra/config.js';
import { type ResolvedDatabase, resolveDatabase } from '../../src/infra/database.js';
import { silentLogger } from '../../src/infra/logger.js';
import { isProcessAlive, processCommandLine, terminateProcess } from '../../src/infra/osProcess.js';
import { freePort } from './freePort.js';

// One cluster in a fresh temp directory (mkdtemp makes it 0700: the postgres OS user needs o+x to reach it).
const dataDir = await mkdtemp(join(tmpdir(), 'mkt-embedded-pg-'));
const clusterDir = join(dataDir, 'pg');
const config: Config = { ...loadConfig({}), dataDir, embeddedPgPort: await freePort() };
const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const opened: ResolvedDatabase[] = [];

async function open(): Promise<ResolvedDatabase> {
  const db = await resolveDatabase(config, silentLogger);
  opened.push(db);
  return db;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function lockFilePid(): Promise<number | undefined> {
  const raw = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  return raw === undefined ? undefined : Number.parseInt(raw.split('\n')[0] ?? '', 10);
}

afterAll(async () => {
  for (const db of opened.reverse()) await db.stop().catch(() => undefined);
  // Whatever happened above, leave no server of this test running.
  const pid = await lockFilePid();
  if (pid !== undefined && (await processCommandLine(pid))?.includes(clusterDir)) await terminateProcess(pid, 'SIGKILL', 5_000);
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('initialises a cluster on first run, creates the marketing database and answers queries', async () => {
    const db = await open();
    expect(db).toMatchObject({ embedded: true, embeddedMode: 'started' });
    expect(db.url).toContain(`@127.0.0.1:${config.embeddedPgPort}/marketing`);
    const rows = await query<{ db: string; user: string }>(db.url, 'select current_database() as db, current_user as user');
    expect(rows).toEqual([{ db: 'marketing', user: 'postgres' }]);

    const credentials = await stat(join(dataDir, 'pg-credentials.json'));
    expect(credentials.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) {
      // Running as root: the server runs as the postgres OS user, which owns the cluster and can reach it.
      const cluster = await stat(clusterDir);
      expect(cluster.uid).not.toBe(0);
      expect((await stat(dataDir)).mode & 0o001).toBe(0o001);
      const pid = await lockFilePid();
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      expect(status).toMatch(new RegExp(`^Uid:\\s+${cluster.uid}\\b`, 'm'));
    }
  });

  it('a second resolveDatabase attaches to the running server instead of starting one, and its stop() leaves it running', async () => {
    const first = opened[0]!;
    const second = await open();
    expect(second).toMatchObject({ embedded: true, embeddedMode: 'attached', url: first.url });
    await query(second.url, 'create table kept (id int primary key); insert into kept values (42)');
    await second.stop();
    expect(await query(first.url, 'select id from kept')).toEqual([{ id: 42 }]);
  });

  it('stop() ends the server it started; a restart from the existing cluster is fast and keeps the data', async () => {
    const pid = (await lockFilePid())!;
    await opened[0]!.stop();
    expect(await isProcessAlive(pid)).toBe(false);
    await expect(query(opened[0]!.url, 'select 1')).rejects.toThrow(/ECONNREFUSED/);

    const began = Date.now();
    const again = await open();
    expect(again.embeddedMode).toBe('started');
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(await query(again.url, 'select id from kept')).toEqual([{ id: 42 }]);
    await again.stop();
  });

  it('adopts the orphaned postmaster left by a process killed with SIGKILL, and stops it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/infra/fixtures/startEmbeddedThenDie.ts'), dataDir, String(config.embeddedPgPort)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, sig) => done(sig)));
    expect(signal, stderr).toBe('SIGKILL');
    const report = JSON.parse(stdout) as { mode: string; postmasterPid: number };
    expect(report.mode).toBe('started');
    expect(await isProcessAlive(report.postmasterPid)).toBe(true); // the orphan

    const db = await open();
    expect(db.embeddedMode).toBe('adopted');
    expect(await query(db.url, 'select id from kept')).toEqual([{ id: 42 }]);
    await db.stop();
    expect(await isProcessAlive(report.postmasterPid)).toBe(false);
  });

  it('recovers from a stale postmaster.pid: dead pid (postmaster killed with SIGKILL) or a pid now used by another process', async () => {
    const crashed = await open();
    const pid = (await lockFilePid())!;
    await terminateProcess(pid, 'SIGKILL', 5_000);
    await crashed.stop(); // nothing left to stop; must not hang
    expect(await lockFilePid()).toBe(pid); // stale lock file left behind

    const recovered = await open();
    expect(recovered.embeddedMode).toBe('started');
    expect(await query(recovered.url, 'select id from kept')).toEqual([{ id: 42 }]);
    await recovered.stop();

    // A lock file naming a live process that is not our postmaster (here: this test process).
    await writeFile(join(clusterDir, 'postmaster.pid'), `${process.pid}\n${clusterDir}\n0\n${config.embeddedPgPort}\n`);
    const restarted = await open();
    expect(restarted.embeddedMode).toBe('started');
    expect(await query(restarted.url, 'select count(*)::int as n from kept')).toEqual([{ n: 1 }]);
    await restarted.stop();
  });
});
