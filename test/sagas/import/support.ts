import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll } from 'vitest';
import { parseImportMapping, type ImportMapping } from '../../../src/domain/contacts/import/mapping.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import type { EventStore } from '../../../src/eventstore/port.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { importDb, type ImportDb } from '../../../src/sagas/import/jobs.js';
import { useTestDatabase } from '../../support/postgres.js';

/** A database (read models + PostgreSQL event store) and a temp directory for one import test file. */
export interface ImportTestEnv {
  readonly pool: pg.Pool;
  readonly db: Kysely<Database>;
  readonly jobs: ImportDb;
  readonly store: EventStore;
  readonly dir: string;
  /** Writes a file into the temp directory and returns its path. */
  file(content: string | Buffer, name?: string): Promise<string>;
  eventCount(): Promise<number>;
}

/**
 * Cleanup of every env this file made, in one file-level afterAll (vitest ignores an afterAll registered inside
 * beforeAll, where useImportTestEnv is called). It runs before test/support/postgres.ts drops the databases.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

export async function useImportTestEnv(label: string): Promise<ImportTestEnv> {
  const { url } = await useTestDatabase(label);
  const pool = createPool({ connectionString: url, max: 6 });
  const db = createKysely<Database>(pool);
  await migrateReadModels(db);
  await migrateEventStore(pool);
  const store = createPostgresEventStore({ pool });
  const dir = await mkdtemp(join(tmpdir(), `import-${label}-`));
  cleanups.push(async () => {
    await store.close();
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    pool,
    db,
    jobs: importDb(db),
    store,
    dir,
    async file(content, name = `${randomBytes(4).toString('hex')}.csv`) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    async eventCount() {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM es_events');
      return Number(rows[0]!.n);
    },
  };
}

/** The mapping most tests use: German headers, typed attributes, tags and a gated subscription. */
export const MAPPING: ImportMapping = parseImportMapping({
  email: 'E-Mail',
  phone: 'Telefon',
  first_name: { column: 'Vorname', type: 'string' },
  age: { column: 'Alter', type: 'number' },
  birthday: { column: 'Geburtstag', type: 'date' },
  tags: { column: 'Tags', split: ';' },
  subscribe: { topic: 'newsletter', consentTextVersion: 'v3', column: 'Newsletter' },
});

export const HEADER = 'E-Mail,Telefon,Vorname,Alter,Geburtstag,Tags,Newsletter';
