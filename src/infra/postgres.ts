import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';

// bigint columns (int8) arrive as strings by default; positions and revisions are parsed where they are read.
export interface PgOptions {
  readonly connectionString: string;
  readonly max?: number;
  readonly applicationName?: string;
}

export function createPool(options: PgOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'marketing-engine',
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its connection (Postgres restarted) emits 'error' on the pool; without a
  // listener that would crash the process. The pool replaces the client on the next checkout.
  pool.on('error', () => {});
  return pool;
}

export function createKysely<DB>(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
