import cliProgress from 'cli-progress';
import { runCliMain, usageExitCode, withCliStore } from '../api/cli/session.js';
import { findWorkspace } from '../api/iam/workspaces.js';
import { parseReplayArgs, runReplayCli, USAGE } from './cliRun.js';
import type { ExportProgress } from './export.js';

/** `npm run replay -- --stream <id> | --workspace <id> [--from] [--until] [--out] [--progress]`: the process around runReplayCli. */
async function main(argv: readonly string[]): Promise<number> {
  const stderr = (text: string) => void process.stderr.write(text);
  const bad = usageExitCode(() => parseReplayArgs(argv), USAGE, stderr);
  if (bad !== null) return bad;
  return withCliStore({ name: 'replay', poolMax: 3 }, ({ db, store }) =>
    runReplayCli(argv, {
      store,
      workspaceExists: async (id) => (await findWorkspace(db, id)) !== undefined,
      stdout: process.stdout,
      stderr,
      progress: (forced) => (forced || process.stderr.isTTY ? progressBar() : undefined),
    }),
  );
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

runCliMain(main);
