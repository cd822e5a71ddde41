import cliProgress from 'cli-progress';
import { pino } from 'pino';
import { findWorkspace } from '../../api/iam/workspaces.js';
import type { EventStore } from '../../eventstore/port.js';
import { openEventStore } from '../../eventstore/open.js';
import { cliActor } from '../../api/cli/actor.js';
import { loadConfig } from '../../infra/config.js';
import { resolveDatabase } from '../../infra/database.js';
import { createKysely, createPool } from '../../infra/postgres.js';
import { migrateReadModels } from '../../projections/db/migrate.js';
import type { Database } from '../../projections/db/schema.js';
import { parseImportArgs, runImportCli, USAGE, UsageError, type ImportCliOutput, type ProgressView } from './cliRun.js';

/** `npm run import -- file.csv --workspace <id> --mapping mapping.json [--json]`: the process around runImportCli. */
async function main(argv: readonly string[]): Promise<number> {
  const out: ImportCliOutput = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  try {
    parseImportArgs(argv); // bad usage exits 2 before any connection is made
  } catch (error) {
    if (error instanceof UsageError) {
      out.stderr(`error: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const config = loadConfig();
  // Logs go to stderr so that stdout carries only the summary (and stays valid with --json).
  const logger = pino({ name: 'import', level: process.env.LOG_LEVEL === undefined ? 'warn' : config.logLevel }, pino.destination(2));
  const database = await resolveDatabase(config, logger);
  const pool = createPool({ connectionString: database.url, max: 6, applicationName: 'marketing-engine-import' });
  const db = createKysely<Database>(pool);
  let store: EventStore | undefined;
  try {
    await migrateReadModels(db);
    store = await openEventStore(config, pool);
    return await runImportCli(argv, {
      store,
      db,
      out,
      actor: cliActor(),
      logger,
      ...(process.stderr.isTTY ? { progress: progressBar() } : {}),
      workspaceExists: async (id) => (await findWorkspace(db, id)) !== undefined,
    });
  } finally {
    await store?.close();
    await db.destroy();
    await database.stop();
  }
}

/** Bytes of the file drive the bar and its ETA; rows and rows/s ride along as payload. */
function progressBar(): ProgressView {
  const bar = new cliProgress.SingleBar(
    { format: 'importing [{bar}] {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50, fps: 5, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = Date.now();
  return {
    start(totalBytes) {
      started = Date.now();
      bar.start(Math.max(1, totalBytes), 0, { rows: '0', rate: '-' });
    },
    update(p) {
      const seconds = (Date.now() - started) / 1_000;
      bar.update(p.bytes, { rows: p.processedRows.toLocaleString('en-US'), rate: seconds > 0 ? Math.round(p.processedRows / seconds).toLocaleString('en-US') : '-' });
    },
    stop() {
      bar.stop();
    },
  };
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
