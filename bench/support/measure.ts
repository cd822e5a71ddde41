import { performance } from 'node:perf_hooks';
import type { LatencyMs } from './types.js';

export interface Throughput {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

/** Wall-clock time of `fn`, which reports how many events it wrote. */
export async function measureThroughput(fn: () => Promise<number>): Promise<Throughput> {
  const started = performance.now();
  const events = await fn();
  const seconds = (performance.now() - started) / 1_000;
  return { events, seconds: round(seconds, 3), eventsPerSecond: Math.round(events / seconds) };
}

/** Nearest-rank percentiles of latencies in milliseconds. */
export function latencyPercentiles(samplesMs: readonly number[]): LatencyMs {
  if (samplesMs.length === 0) throw new Error('no latency samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!, 2);
  return { p50: at(50), p95: at(95), p99: at(99) };
}

/** Runs `fn` and appends its duration (ms) to `samples`. */
export async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  samples.push(performance.now() - started);
  return result;
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
