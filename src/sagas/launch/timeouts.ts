/** A saga step that did not finish in time. */
export class StepTimeoutError extends Error {
  readonly code = 'LAUNCH_STEP_TIMEOUT';
  constructor(readonly step: string, readonly timeoutMs: number) {
    super(`${step} did not finish within ${timeoutMs} ms`);
    this.name = 'StepTimeoutError';
  }
}

/**
 * Settles with `work`, or rejects with StepTimeoutError after `timeoutMs`. The work itself goes on in the
 * background (a promise cannot be cancelled): only use it around work that is safe to abandon, or that bounds
 * itself as well (see freezeAudience's deadline).
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeoutError(step, timeoutMs)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
