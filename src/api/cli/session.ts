import type { Kysely } from 'kysely';
import type pg from 'pg';
import { pino } from 'pino';
import { openEventStore } from '../../eventstore/open.js';
import type { EventStore } from '../../eventstore/port.js';
import { loadConfig, type Config } from '../../infra/config.js';
import { resolveDatabase } from '../../infra/database.js';
import type { Logger } from '../../infra/logger.js';
import { createKysely, createPool } from '../../infra/postgres.js';
import { migrateReadModels } from '../../projections/db/migrate.js';
import type { Database } from '../../projections/db/schema.js';
import { UsageError } from './usage.js';

/** What a command-line tool works with: the configured database (embedded by default), migrated. */
export interface CliDatabase {
  readonly config: Config;
  readonly logger: Logger;
  readonly pool: pg.Pool;
  readonly db: Kysely<Database>;
}

export interface CliStore extends CliDatabase {
  /** The production event store (sealing personal data, upcasting on read), as the engine opens it. */
  readonly store: EventStore;
}

export interface CliSessionOptions {
  /** The tool's name: the logger's and the PostgreSQL application name's. */
  readonly name: string;
  readonly poolMax: number;
}

/**
 * Runs `work` with the configured database, then closes everything, also when it throws. Logs go to stderr
 * (level `warn` unless LOG_LEVEL is set), so stdout carries only the tool's output and stays valid with --json.
 */
export async function withCliDatabase<T>(options: CliSessionOptions, work: (session: CliDatabase) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = pino({ name: options.name, level: process.env.LOG_LEVEL === undefined ? 'warn' : config.logLevel }, pino.destination(2));
  const database = await resolveDatabase(config, logger);
  const pool = createPool({ connectionString: database.url, max: options.poolMax, applicationName: `marketing-engine-${options.name}` });
  const db = createKysely<Database>(pool);
  try {
    await migrateReadModels(db);
    return await work({ config, logger, pool, db });
  } finally {
    await db.destroy();
    await database.stop();
  }
}

/** withCliDatabase, plus the event store. */
export function withCliStore<T>(options: CliSessionOptions, work: (session: CliStore) => Promise<T>): Promise<T> {
  return withCliDatabase(options, async (session) => {
    const store = await openEventStore(session.config, session.pool);
    try {
      return await work({ ...session, store });
    } finally {
      await store.close();
    }
  });
}

/** Runs a tool's main and sets the exit code: its answer, or 1 with one line on stderr when it throws. */
export function runCliMain(main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/** Parses the command line first, so bad usage exits 2 with the usage text before any connection is made. */
export function usageExitCode(parse: () => unknown, usage: string, stderr: (text: string) => void): number | null {
  try {
    parse();
    return null;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`error: ${error.message}\n\n${usage}\n`);
    return 2;
  }
}
