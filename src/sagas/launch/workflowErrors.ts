import { DomainError, InvalidTransitionError } from '../../domain/shared/errors.js';
import type { LaunchCommandType, LaunchStatus } from './workflow.js';

/** The launch state machine's named refusals (workflow.ts), beyond the generic InvalidTransitionError. */

/** After DeliveryStarted recovery is forward only: no compensation. */
export class PointOfNoReturnError extends InvalidTransitionError {
  constructor(from: LaunchStatus) {
    super('launch', `${from} (emails may have been sent)`, 'CompensateLaunch');
    this.name = 'PointOfNoReturnError';
  }
}

/** ResendToFailed on a launch without failed recipients. */
export class NothingToResendError extends DomainError {
  readonly code = 'INVALID_TRANSITION';
  constructor(readonly campaignId: string) {
    super(`The launch of campaign ${campaignId} has no failed recipients to resend to`);
    this.name = 'NothingToResendError';
  }
}

/** The sample of an A/B test is sent while holdout recipients wait: the launch cannot complete before a winner. */
export class HoldoutAwaitsWinnerError extends InvalidTransitionError {
  constructor(from: LaunchStatus, holdout: number) {
    super('launch', `${from} (${holdout} holdout recipients await the winner)`, 'CompleteLaunch');
    this.name = 'HoldoutAwaitsWinnerError';
  }
}

/** EndTestSample or StartWinnerRound on a launch without a holdout (no A/B test phase, or an audience too small). */
export class NoHoldoutError extends InvalidTransitionError {
  constructor(from: LaunchStatus, command: LaunchCommandType) {
    super('launch', `${from} (no holdout awaits a winner)`, command);
    this.name = 'NoHoldoutError';
  }
}
