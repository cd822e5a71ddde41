import type { ReadinessCheck } from '../../api/deps.js';
import { projectionProgress, type ProgressDeps, type ReaderProgress } from './lagMetrics.js';
import type { ProjectionStatus } from './projectionRunner.js';

/** What /ready needs from a projection runner of this process. */
export interface RunnerView {
  readonly name: string;
  readonly status: ProjectionStatus;
}

/**
 * A projection is **stuck** when all of these hold:
 * 1. this process is responsible for it: its runner here is the active one (holds the leadership lock), or its
 *    last attempt here failed (`lastError`, e.g. it keeps failing and releasing the lock). A healthy standby —
 *    another instance leads — is never stuck here (that instance's /ready reports it);
 * 2. it is behind: the store has events after its checkpoint (an idle, caught-up projection is healthy however
 *    long ago it last moved);
 * 3. the oldest of those events is older than the threshold (a burst that just arrived is not a problem yet), and
 * 4. its checkpoint has not moved for longer than the threshold (a projection catching up on a long backlog is
 *    slow, not stuck).
 * Parked poison events do not make it stuck: it moved past them (alert on mkt_projection_events_parked_total).
 */
export function stuckReason(runner: RunnerView, progress: ReaderProgress, thresholdMs: number, now: Date): string | null {
  const responsible = runner.status.active || runner.status.lastError !== null;
  if (!responsible || progress.lagEvents === 0) return null;
  const thresholdS = thresholdMs / 1000;
  if (progress.lagSeconds <= thresholdS) return null;
  const stillFor = progress.checkpointMovedAt === null ? null : (now.getTime() - progress.checkpointMovedAt.getTime()) / 1000;
  if (stillFor !== null && stillFor <= thresholdS) return null;
  const since = stillFor === null ? 'it has not applied any event yet' : `its checkpoint has not moved for ${Math.round(stillFor)} s`;
  const error = runner.status.lastError === null ? '' : `; last error: ${runner.status.lastError}`;
  return `stuck: ${progress.lagEvents} events behind, the oldest ${Math.round(progress.lagSeconds)} s old, and ${since} (threshold ${thresholdS} s)${error}`;
}

/**
 * One readiness check per projection this process runs (`projection:<name>`); they share one progress snapshot
 * per /ready call (computed at most once a second).
 */
export function stuckProjectionChecks(deps: ProgressDeps, runners: readonly RunnerView[], thresholdMs: number): ReadinessCheck[] {
  const names = runners.map((r) => r.name);
  let snapshot: { at: number; progress: Promise<Map<string, ReaderProgress>> } | null = null;
  const progress = () => {
    const now = Date.now();
    if (snapshot === null || now - snapshot.at > 1_000) {
      const pending = projectionProgress(deps, names).then((list) => new Map(list.map((p) => [p.name, p])));
      pending.catch(() => (snapshot = null));
      snapshot = { at: now, progress: pending };
    }
    return snapshot.progress;
  };
  return runners.map((runner) => ({
    name: `projection:${runner.name}`,
    async check() {
      const p = (await progress()).get(runner.name);
      const reason = p === undefined ? null : stuckReason(runner, p, thresholdMs, new Date());
      if (reason !== null) throw new Error(reason);
    },
  }));
}
