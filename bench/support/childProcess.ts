/**
 * The node arguments of a benchmark child process (saga worker, projector, SMTP sink): TypeScript through tsx,
 * and with BENCH_CPU_PROF_DIR set, a CPU profile per process written there on exit (node refuses --cpu-prof in
 * NODE_OPTIONS, so it must be an argument).
 */
export function nodeArgsFor(entry: string): string[] {
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  return ['--import', 'tsx', ...(profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), entry];
}
