import { pino } from 'pino';
import { loadConfig } from '../../infra/config.js';
import { resolveDatabase } from '../../infra/database.js';
import { createKysely, createPool } from '../../infra/postgres.js';
import { migrateReadModels } from '../../projections/db/migrate.js';
import type { Database } from '../../projections/db/schema.js';
import { cliActor } from './actor.js';
import { parseAdminArgs, runAdminCli, USAGE, UsageError, type CliOutput } from './run.js';

/** `npm run admin -- ...`: the process around runAdminCli (config, database, exit code). */
async function main(argv: readonly string[]): Promise<number> {
  const out: CliOutput = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  try {
    parseAdminArgs(argv); // bad usage exits 2 before any connection is made
  } catch (error) {
    if (error instanceof UsageError) {
      out.stderr(`error: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const config = loadConfig();
  // Logs go to stderr so that stdout carries only the command's output (and stays valid with --json).
  const logger = pino({ name: 'admin', level: process.env.LOG_LEVEL === undefined ? 'warn' : config.logLevel }, pino.destination(2));
  const database = await resolveDatabase(config, logger);
  const db = createKysely<Database>(createPool({ connectionString: database.url, max: 2, applicationName: 'marketing-engine-admin' }));
  try {
    await migrateReadModels(db);
    return await runAdminCli(argv, { db, out, actor: cliActor() });
  } finally {
    await db.destroy();
    await database.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
