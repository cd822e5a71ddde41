/**
 * A circuit breaker around the SMTP provider. Closed: calls pass; `failureThreshold` consecutive provider
 * failures, the first of them no longer ago than `windowMs`, open it. Open: calls fail fast with
 * CircuitOpenError (nothing is sent, so the caller may safely put the message back and pause the campaign).
 * After `coolDownMs` one probe call is let through (half-open): its success closes the circuit, its failure
 * opens it for another cool-down. Only provider failures count (connection refused, 421, lost connections); a
 * recipient's own 4xx/5xx answer proves the provider is up and resets the count.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitOpenError extends Error {
  readonly code = 'SMTP_CIRCUIT_OPEN';
  constructor(readonly retryAt: Date) {
    super(`The SMTP circuit is open (provider failing); next probe after ${retryAt.toISOString()}`);
    this.name = 'CircuitOpenError';
  }
}

export interface CircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly windowMs: number;
  readonly coolDownMs: number;
  readonly now?: () => number;
  readonly onStateChange?: (state: CircuitState) => void;
}

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private firstFailureAt = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get current(): CircuitState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.options.coolDownMs) return 'half_open';
    return this.state;
  }

  /** Call before every provider call; throws CircuitOpenError when the call must not be made. */
  beforeCall(): void {
    const state = this.current;
    if (state === 'closed') return;
    if (state === 'half_open' && !this.probeInFlight) {
      this.transition('half_open');
      this.probeInFlight = true;
      return;
    }
    throw new CircuitOpenError(new Date(this.openedAt + this.options.coolDownMs));
  }

  /** The provider answered (accepted, or refused this one recipient). */
  onSuccess(): void {
    this.probeInFlight = false;
    this.consecutiveFailures = 0;
    if (this.state !== 'closed') this.transition('closed');
  }

  onProviderFailure(): void {
    const now = this.now();
    if (this.state === 'half_open') {
      this.probeInFlight = false;
      this.open(now);
      return;
    }
    if (this.state === 'open') return;
    if (this.consecutiveFailures === 0 || now - this.firstFailureAt > this.options.windowMs) {
      this.consecutiveFailures = 0;
      this.firstFailureAt = now;
    }
    this.consecutiveFailures++;
    if (this.consecutiveFailures >= this.options.failureThreshold) this.open(now);
  }

  private open(now: number): void {
    this.openedAt = now;
    this.consecutiveFailures = 0;
    this.transition('open');
  }

  private transition(state: CircuitState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state);
  }
}
