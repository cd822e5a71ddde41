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
  // A checked-out client has no pool listener: when Postgres shuts down (57P01) between two queries of a
  // transaction, its 'error' would be an uncaught exception (a crashed process, or a pg client left mid-query
  // that never settles). The error is not lost: the client is no longer queryable, its next query fails with a
  // connection error, and the pool discards it on release. Found by test/faults/postgresRestart.faults.ts.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function createKysely<DB>(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Connection-level failures: the database is down, restarting, or unreachable. node-postgres reports some of
 * these without a SQLSTATE, so those few are recognised by the driver's own fixed messages.
 */
export function isConnectionError(error: unknown): boolean {
  const e = (error ?? {}) as { code?: string; message?: string };
  const code = e.code ?? '';
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || code === '57P02' || code === '57P03' || // admin shutdown, crash shutdown, cannot connect now
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message ?? '')
  );
}
