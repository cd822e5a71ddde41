import { cliActor } from './actor.js';
import { parseAdminArgs, runAdminCli, USAGE, type CliOutput } from './run.js';
import { runCliMain, usageExitCode, withCliDatabase } from './session.js';

/** `npm run admin -- ...`: the process around runAdminCli (config, database, exit code). */
async function main(argv: readonly string[]): Promise<number> {
  const out: CliOutput = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  const bad = usageExitCode(() => parseAdminArgs(argv), USAGE, out.stderr);
  if (bad !== null) return bad;
  return withCliDatabase({ name: 'admin', poolMax: 2 }, ({ db }) => runAdminCli(argv, { db, out, actor: cliActor() }));
}

runCliMain(main);
