import cliProgress from 'cli-progress';
import { findWorkspace } from '../../api/iam/workspaces.js';
import { cliActor } from '../../api/cli/actor.js';
import { runCliMain, usageExitCode, withCliStore } from '../../api/cli/session.js';
import { parseImportArgs, runImportCli, USAGE, type ImportCliOutput, type ProgressView } from './cliRun.js';

/** `npm run import -- file.csv --workspace <id> --mapping mapping.json [--json]`: the process around runImportCli. */
async function main(argv: readonly string[]): Promise<number> {
  const out: ImportCliOutput = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  const bad = usageExitCode(() => parseImportArgs(argv), USAGE, out.stderr);
  if (bad !== null) return bad;
  return withCliStore({ name: 'import', poolMax: 6 }, ({ db, store, logger }) =>
    runImportCli(argv, {
      store,
      db,
      out,
      actor: cliActor(),
      logger,
      ...(process.stderr.isTTY ? { progress: progressBar() } : {}),
      workspaceExists: async (id) => (await findWorkspace(db, id)) !== undefined,
    }),
  );
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

runCliMain(main);
