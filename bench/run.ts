/**
 * `npm run bench [-- --quick] [-- --only <name>]`
 *
 * Runs every benchmark in bench/suites/ (each file exports `benchmark: Benchmark`), each in its own fresh
 * database, prints a table per benchmark and writes bench/results/<name>.json (the common shape: `figures` with
 * baseline, ratio and target; `scaling` points; `targets`; the machine). Then bench/report.ts regenerates the
 * table in bench/README.md and the plots (bench/results/*.png) from every results file.
 * `npm run bench -- --report` only regenerates the report. `npm run bench -- --large` runs the suites that have a
 * large mode (1M points of the scaling curves, tens of minutes) into bench/results/<name>-large.json.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ADMIN_URL, BenchDatabases, serverVersion } from './support/database.js';
import { connect } from '@nats-io/transport-node';
import { writeReport } from './report.js';
import { describeMachine, formatTable, type Machine } from './support/report.js';
import type { Benchmark } from './support/types.js';

const SUITES_DIR = new URL('./suites/', import.meta.url);
const RESULTS_DIR = new URL('./results/', import.meta.url);

async function discoverBenchmarks(): Promise<Benchmark[]> {
  const files = (await readdir(SUITES_DIR)).filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')).sort();
  const benchmarks: Benchmark[] = [];
  for (const file of files) {
    const module = (await import(new URL(file, SUITES_DIR).href)) as { benchmark?: Benchmark };
    if (typeof module.benchmark?.run !== 'function' || typeof module.benchmark.name !== 'string') {
      throw new Error(`bench/suites/${file} must export \`benchmark: Benchmark\``);
    }
    benchmarks.push(module.benchmark);
  }
  return benchmarks;
}

async function runBenchmark(benchmark: Benchmark, mode: { quick: boolean; large: boolean }, machine: Machine, databases: BenchDatabases): Promise<boolean> {
  const { quick, large } = mode;
  const name = large ? `${benchmark.name}-large` : benchmark.name;
  const started = Date.now();
  console.log(`\n▶ ${name} — ${benchmark.description}${quick ? ' (quick)' : large ? ' (large)' : ''}`);
  const date = new Date().toISOString();
  try {
    const report = await benchmark.run({
      quick,
      large,
      createDatabase: (label) => databases.create(label),
      progress: (message) => process.stderr.write(`  · ${message}\n`),
    });
    console.log(`\n${formatTable(report.table)}\n`);
    for (const note of report.notes ?? []) console.log(`  ${note}`);
    for (const target of report.targets) console.log(`  ${target.met ? '✓' : '✗'} ${target.description}`);
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = new URL(`${name}.json`, RESULTS_DIR);
    const durationSeconds = Math.round((Date.now() - started) / 100) / 10;
    const result = {
      name,
      description: benchmark.description,
      machine,
      date,
      quick,
      ...(large ? { large } : {}),
      durationSeconds,
      figures: report.figures ?? [],
      scaling: report.scaling ?? [],
      targets: report.targets,
      notes: report.notes ?? [],
      ...report.body,
    };
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  results: bench/results/${name}.json (${((Date.now() - started) / 1_000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    console.error(`✗ ${benchmark.name} failed:`, error);
    return false;
  } finally {
    await databases.dropAll();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      large: { type: 'boolean', default: false },
      only: { type: 'string' },
      report: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.report) {
    await writeReport();
    return 0;
  }
  const all = await discoverBenchmarks();
  if (values.help) {
    console.log(`usage: npm run bench [-- --quick | --large] [-- --only <${all.map((b) => b.name).join('|')}>] [-- --report]`);
    console.log(`--large: the 1M points of the scaling curves (${all.filter((b) => b.large === true).map((b) => b.name).join(', ')}); tens of minutes`);
    console.log('env: BENCH_PG_ADMIN_URL (default postgres://root@127.0.0.1:5432/postgres)');
    return 0;
  }
  if (values.quick && values.large) {
    console.error('--quick and --large exclude each other');
    return 2;
  }
  const only = values.only?.split(',');
  const candidates = values.large ? all.filter((b) => b.large === true) : all;
  const selected = only === undefined ? candidates : candidates.filter((b) => only.includes(b.name));
  if (selected.length === 0) {
    console.error(`No benchmark named "${values.only}"${values.large ? ' with a --large mode' : ''}. Available: ${candidates.map((b) => b.name).join(', ')}`);
    return 2;
  }

  const databases = new BenchDatabases();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: dropping benchmark databases`);
      void databases.dropAll().finally(() => process.exit(130));
    });
  }

  const machine = describeMachine(await serverVersion(), await natsVersion());
  const host = new URL(ADMIN_URL).host;
  console.log(
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memGiB} GiB, node ${machine.node}, ` +
      `PostgreSQL ${machine.postgres.server_version} at ${host}, NATS ${machine.nats?.server_version ?? '?'}, load ${machine.loadAverage}`,
  );
  const started = Date.now();
  let failures = 0;
  for (const benchmark of selected) {
    if (!(await runBenchmark(benchmark, { quick: values.quick, large: values.large }, machine, databases))) failures++;
  }
  console.log(`\nall benchmarks: ${((Date.now() - started) / 1_000).toFixed(0)} s`);
  await writeReport();
  return failures === 0 ? 0 : 1;
}

async function natsVersion(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', timeout: 2_000 });
    const version = nc.info?.version;
    await nc.close();
    return version;
  } catch {
    return undefined;
  }
}

process.exitCode = await main();
