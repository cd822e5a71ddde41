import cliProgress from 'cli-progress';
import { pino } from 'pino';
import { findWorkspace } from '../api/iam/workspaces.js';
import { openEventStore } from '../eventstore/open.js';
import type { EventStore } from '../eventstore/port.js';
import { loadConfig } from '../infra/config.js';
import { resolveDatabase } from '../infra/database.js';
import { createKysely, createPool } from '../infra/postgres.js';
import { migrateReadModels } from '../projections/db/migrate.js';
import type { Database } from '../projections/db/schema.js';
import { parseReplayArgs, runReplayCli, USAGE, UsageError } from './cliRun.js';
import type { ExportProgress } from './export.js';

/** `npm run replay -- --stream <id> | --workspace <id> [--from] [--until] [--out] [--progress]`: the process around runReplayCli. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    parseReplayArgs(argv); // bad usage exits 2 before any connection is made
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const config = loadConfig();
  // Logs go to stderr: stdout carries only the NDJSON.
  const logger = pino({ name: 'replay', level: process.env.LOG_LEVEL === undefined ? 'warn' : config.logLevel }, pino.destination(2));
  const database = await resolveDatabase(config, logger);
  const pool = createPool({ connectionString: database.url, max: 3, applicationName: 'marketing-engine-replay' });
  const db = createKysely<Database>(pool);
  let store: EventStore | undefined;
  try {
    await migrateReadModels(db);
    store = await openEventStore(config, pool);
    return await runReplayCli(argv, {
      store,
      workspaceExists: async (id) => (await findWorkspace(db, id)) !== undefined,
      stdout: process.stdout,
      stderr: (text) => void process.stderr.write(text),
      progress: (forced) => (forced || process.stderr.isTTY ? progressBar() : undefined),
    });
  } finally {
    await store?.close();
    await db.destroy();
    await database.stop();
  }
}

function progressBar(): ExportProgress {
  const bar = new cliProgress.SingleBar(
    { format: 'exporting [{bar}] {percentage}% | {exported} events | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50, fps: 5, stream: process.stderr, noTTYOutput: !process.stderr.isTTY },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(Math.max(1, total ?? 1), 0, { exported: '0' }),
    update: (done, exported) => {
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done, { exported: exported.toLocaleString('en-US') });
    },
    stop: () => bar.stop(),
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
