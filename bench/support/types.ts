/**
 * The contract between `bench/run.ts` and the benchmark files under `bench/suites/`. A suite file exports
 * `benchmark: Benchmark`; the runner discovers it by file name, so a new benchmark is a new file, nothing else.
 */

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
}

export interface BenchContext {
  /** CI-sized run: the suite should finish in a few seconds. */
  readonly quick: boolean;
  /** A fresh, empty database, dropped by the runner when the suite ends (also on failure or Ctrl-C). */
  createDatabase(label: string): Promise<BenchDatabase>;
  /** Progress to stderr, so stdout stays the report. */
  progress(message: string): void;
}

export interface LatencyMs {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface Target {
  /** Human-readable, e.g. `≥ 40% of COPY`. */
  readonly description: string;
  readonly met: boolean;
}

/** What a suite hands back: the suite-specific body of `bench/results/<name>.json` plus the table to print. */
export interface SuiteReport {
  readonly body: Readonly<Record<string, unknown>>;
  readonly table: Table;
  readonly targets: readonly Target[];
  readonly notes?: readonly string[];
}

export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface Benchmark {
  /** Used by `--only` and as the results file name. */
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<SuiteReport>;
}
