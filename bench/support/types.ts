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
  /**
   * `--large` (only suites with `large: true`): the full run's scaling curve extended to 1M events/recipients, far
   * over the full run's 10-minute budget. Results go to bench/results/<name>-large.json.
   */
  readonly large: boolean;
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

/**
 * One headline figure of a suite in the common shape every results file carries (`figures`), which
 * bench/report.ts turns into the README table: the figure, the baseline measured in the same run, their ratio,
 * the target and whether it is met.
 */
export interface Figure {
  /** What was measured, e.g. `batched append (100 events per append)`. */
  readonly name: string;
  readonly value: number;
  /** e.g. `events/s`, `ms (p99)`, `MB`. */
  readonly unit: string;
  /** The yardstick measured in the same run (a physical limit or a peer), when there is one. */
  readonly baseline?: { readonly name: string; readonly value: number; readonly unit?: string };
  /** value / baseline (for a latency: baseline / value is not used; the ratio is always value / baseline). */
  readonly ratio?: number;
  /** The target, in words, e.g. `≥ 2× Emmett`. */
  readonly target?: string;
  readonly met?: boolean;
}

/** Throughput at one workload size, for the scaling plots (bench/results/<suite>.png). */
export interface ScalingPoint {
  /** The line of the plot, e.g. `ours, batched` or `Emmett, batched`. */
  readonly series: string;
  /** Events or recipients (or processes, with `axis: 'processes'`). */
  readonly size: number;
  readonly throughput: number;
  readonly unit: string;
  readonly axis?: 'size' | 'processes';
  readonly seconds?: number;
}

/** What a suite hands back: the suite-specific body of `bench/results/<name>.json` plus the table to print. */
export interface SuiteReport {
  readonly body: Readonly<Record<string, unknown>>;
  readonly table: Table;
  readonly targets: readonly Target[];
  readonly notes?: readonly string[];
  /** The headline figures in the common shape (older or foreign suites may leave it out: then `targets` is used). */
  readonly figures?: readonly Figure[];
  readonly scaling?: readonly ScalingPoint[];
}

export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface Benchmark {
  /** Used by `--only` and as the results file name. */
  readonly name: string;
  readonly description: string;
  /** The suite has a `--large` mode (see BenchContext.large). */
  readonly large?: boolean;
  run(context: BenchContext): Promise<SuiteReport>;
}
