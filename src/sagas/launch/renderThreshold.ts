import type { RenderTally } from '../../domain/launches/events.js';

/** When a launch pauses itself because too many recipients cannot be rendered. */
export interface RenderFailureThreshold {
  /** Attempts since the baseline before the ratio is judged. */
  readonly minAttempted: number;
  /** Pause when more than this share of those attempts failed to render. */
  readonly maxRatio: number;
}

export const DEFAULT_RENDER_FAILURE_THRESHOLD: RenderFailureThreshold = { minAttempted: 50, maxRatio: 0.1 };

/** Render failures since the baseline (the last resume, resend or the start of delivery) above the threshold? */
export function renderFailuresExceeded(baseline: RenderTally, now: RenderTally, threshold: RenderFailureThreshold = DEFAULT_RENDER_FAILURE_THRESHOLD): boolean {
  const attempted = now.attempted - baseline.attempted;
  const failed = now.renderFailed - baseline.renderFailed;
  return attempted >= threshold.minAttempted && failed > attempted * threshold.maxRatio;
}
