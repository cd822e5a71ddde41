import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';

/** The machine's Postgres (trust auth). Override with TEST_PG_ADMIN_URL. */
export const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file, so files can run in parallel without colliding.
 * Dropped after the file (WITH (FORCE) ends leftover connections).
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Databases made by useTestDatabase in this test file. vitest ignores hooks registered inside another hook
 * (useTestDatabase is mostly called from beforeAll), so one file-level afterAll, registered when this module is
 * first imported by the file, drops them all.
 */
const created: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(created.splice(0).map((db) => db.drop()));
});

/** createTestDatabase + drop after all tests of the calling file. */
export async function useTestDatabase(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  created.push(db);
  return db;
}
