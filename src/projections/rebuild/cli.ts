import cliProgress from 'cli-progress';
import { runCliMain, withCliStore } from '../../api/cli/session.js';
import { PROJECTIONS } from '../index.js';
import { checkRebuildCommand, runOffline, runRebuildCli, type RebuildCliOutput, type RebuildProgressView } from './cliRun.js';
import type { RebuildProgress } from './rebuild.js';

/** `npm run rebuild -- <projection> [--keep-old] [--json]` / `--list`: the process around runRebuildCli. */
async function main(argv: readonly string[]): Promise<number> {
  const out: RebuildCliOutput = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  // Bad usage and unknown projections exit 2 before any connection is made; --list and --help need none.
  const checked = checkRebuildCommand(argv, PROJECTIONS, out);
  if ('exitCode' in checked) return checked.exitCode;
  const offline = runOffline(checked.command, PROJECTIONS, out);
  if (offline !== null) return offline;

  const abort = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupting: dropping the half-built tables (Ctrl-C again to quit at once)\n');
    abort.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return withCliStore({ name: 'rebuild', poolMax: 6 }, ({ db, pool, store, logger }) =>
    runRebuildCli(argv, {
      db,
      pool,
      store,
      projections: PROJECTIONS,
      logger,
      out,
      signal: abort.signal,
      progress: process.stderr.isTTY ? progressBar() : phaseLines(out),
    }),
  );
}

/**
 * Position against the store's head at the start drives the bar and its ETA (positions of the PostgreSQL store
 * count events; for EventStoreDB they grow with the log's bytes, still a fair estimate); events/s rides along.
 */
function progressBar(): RebuildProgressView {
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {percentage}% | {events} events | {rate} events/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20, fps: 5, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const total = Math.max(1, Number(p.head ?? 0n));
      const payload = { phase: p.phase.padEnd(11), events: p.events.toLocaleString('en-US'), rate: rate(p) };
      if (!started) {
        bar.start(total, 0, payload);
        started = true;
      }
      bar.setTotal(Math.max(total, Number(p.position ?? 0n)));
      bar.update(Number(p.position ?? 0n), payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Without a terminal: one line per phase. */
function phaseLines(out: RebuildCliOutput): RebuildProgressView {
  let phase = '';
  return {
    update(p) {
      if (p.phase === phase) return;
      phase = p.phase;
      out.stderr(`${p.phase}: ${p.events.toLocaleString('en-US')} events, ${rate(p)} events/s\n`);
    },
    stop() {},
  };
}

const rate = (p: RebuildProgress): string => (p.elapsedMs > 0 ? Math.round((p.events * 1_000) / p.elapsedMs).toLocaleString('en-US') : '-');

runCliMain(main);
