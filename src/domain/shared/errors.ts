/**
 * Named domain errors. `code` is stable: the API's one error mapper turns it into GraphQL `extensions.code`
 * and an HTTP status; nothing matches on messages.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  readonly retryable: boolean = false;
}

/** The command is not allowed in the aggregate's current state (e.g. editing a running campaign's audience). */
export class InvalidTransitionError extends DomainError {
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly aggregate: string,
    readonly from: string,
    readonly command: string,
  ) {
    super(`${command} is not allowed when the ${aggregate} is ${from}`);
    this.name = 'InvalidTransitionError';
  }
}

/** The command's input is invalid; `field` names the offending input. */
export class ValidationError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** The stream does not exist, or belongs to another workspace (indistinguishable on purpose). */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly resource: string) {
    super(`${resource} not found`);
    this.name = 'NotFoundError';
  }
}

/** The command kept conflicting with concurrent writers after the handler's retries. */
export class ConcurrencyError extends DomainError {
  readonly code = 'CONFLICT';
  override readonly retryable = true;
  constructor(readonly streamId: string) {
    super(`Stream ${streamId} kept changing concurrently; retry the command`);
    this.name = 'ConcurrencyError';
  }
}

/** The contact was erased (GDPR): nothing more can be recorded about it, and its email cannot be used again. */
export class ContactErasedError extends DomainError {
  readonly code = 'CONTACT_ERASED';
  constructor(readonly contactId: string) {
    super(`Contact ${contactId} was erased; nothing more can be recorded about it`);
    this.name = 'ContactErasedError';
  }
}
