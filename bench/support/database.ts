import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { BenchDatabase } from './types.js';

/** The machine's Postgres (trust auth), as in test/support/postgres.ts. Override with BENCH_PG_ADMIN_URL. */
export const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Fresh databases for benchmarks, each dropped by `dropAll` (WITH (FORCE) ends leftover connections).
 * The runner calls `dropAll` after every suite and on SIGINT/SIGTERM, so an interrupted run leaves nothing behind.
 */
export class BenchDatabases {
  private readonly live = new Set<string>();

  async create(label: string): Promise<BenchDatabase> {
    const name = `bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
    await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
    this.live.add(name);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return { name, url: url.toString() };
  }

  async dropAll(): Promise<void> {
    if (this.live.size === 0) return;
    const names = [...this.live];
    this.live.clear();
    await withAdmin(async (admin) => {
      for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  }
}

export function serverVersion(): Promise<string> {
  return withAdmin(async (admin) => {
    const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  });
}
