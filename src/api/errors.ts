import { EventStoreError, InvalidAppendError, WrongExpectedRevisionError } from '../eventstore/errors.js';

/**
 * The one mapping from errors to what a client sees, shared by GraphQL (`extensions.code`) and HTTP routes
 * (`{ error: { code, message } }`). Errors are recognised by class or by their stable `code` property, never by
 * their message. Anything not recognised is INTERNAL with a generic message: its real message and stack go to
 * the log only.
 */
export interface MappedError {
  readonly code: string;
  readonly httpStatus: number;
  readonly message: string;
  readonly retryable: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
}

interface CodeRule {
  readonly httpStatus: number;
  readonly retryable: boolean;
}

/**
 * Every code a client may see, with its HTTP status. Domain and port errors that carry one of these codes are
 * mapped with their own message; add a row when a slice introduces a new error code.
 */
export const ERROR_CODES = {
  BAD_USER_INPUT: { httpStatus: 400, retryable: false },
  UNAUTHENTICATED: { httpStatus: 401, retryable: false },
  FORBIDDEN: { httpStatus: 403, retryable: false },
  NOT_FOUND: { httpStatus: 404, retryable: false },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retryable: false },
  WRONG_EXPECTED_REVISION: { httpStatus: 409, retryable: true },
  CONFLICT: { httpStatus: 409, retryable: true },
  INVALID_TRANSITION: { httpStatus: 409, retryable: false },
  CONTACT_ERASED: { httpStatus: 410, retryable: false },
  READ_MODEL_BEHIND: { httpStatus: 503, retryable: true },
  QUERY_TOO_COMPLEX: { httpStatus: 400, retryable: false },
  RATE_LIMITED: { httpStatus: 429, retryable: true },
  INVALID_EVENT: { httpStatus: 400, retryable: false },
  EVENT_STORE_UNAVAILABLE: { httpStatus: 503, retryable: true },
  INTERNAL: { httpStatus: 500, retryable: false },
} as const satisfies Record<string, CodeRule>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error the API raises on purpose; its message is meant for the client. */
export class ApiError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.httpStatus = ERROR_CODES[code].httpStatus;
  }
}

/** Bad input in one named field (`input.role`, `--workspace`). */
export class ValidationError extends ApiError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('BAD_USER_INPUT', message, { field });
    this.name = 'ValidationError';
  }
}

export const unauthenticated = (message = 'A valid API key is required (Authorization: Bearer <key>).'): ApiError =>
  new ApiError('UNAUTHENTICATED', message);
export const forbidden = (message = 'This API key is not allowed to do that.'): ApiError => new ApiError('FORBIDDEN', message);
export const notFound = (what: string): ApiError => new ApiError('NOT_FOUND', `${what} not found.`);

const INTERNAL_MESSAGE = 'Internal server error.';
const UNAVAILABLE_MESSAGE = 'The event store is unavailable; retry later.';

/** Fastify and mercurius errors about a malformed request; their messages describe the request, not internals. */
const FRAMEWORK_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

export function mapError(error: unknown): MappedError {
  if (error instanceof ApiError) {
    return withDetails({ code: error.code, httpStatus: error.httpStatus, message: error.message, retryable: ERROR_CODES[error.code].retryable }, error.details);
  }
  if (error instanceof EventStoreError) return mapEventStoreError(error);
  if (!(error instanceof Error)) return internal();
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return internal();
  if (isErrorCode(code) && code !== 'INTERNAL') {
    // A domain error following the convention: a stable `code` from the table and a client-facing message.
    const rule = ERROR_CODES[code];
    const field = (error as { field?: unknown }).field;
    const mapped = { code, httpStatus: rule.httpStatus, message: error.message, retryable: rule.retryable };
    return typeof field === 'string' ? { ...mapped, details: { field } } : mapped;
  }
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if ((code.startsWith('FST_') || code.startsWith('MER_')) && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const mapped = FRAMEWORK_CODES[code] ?? 'BAD_USER_INPUT';
    return { code: mapped, httpStatus: ERROR_CODES[mapped].httpStatus, message: error.message, retryable: false };
  }
  // Anything else with a `code` (pg's '23505', node's 'ECONNREFUSED') is an internal failure.
  return internal();
}

function mapEventStoreError(error: EventStoreError): MappedError {
  if (error instanceof WrongExpectedRevisionError) {
    return {
      ...rule('WRONG_EXPECTED_REVISION'),
      message: error.message,
      details: { streamId: error.streamId, expected: String(error.expected), actual: String(error.actual) },
    };
  }
  if (error instanceof InvalidAppendError) {
    return { ...rule('INVALID_EVENT'), message: error.message, details: { field: error.field } };
  }
  // The cause of an unavailable store (host names, driver messages) stays in the log.
  if (error.code === 'EVENT_STORE_UNAVAILABLE') return { ...rule('EVENT_STORE_UNAVAILABLE'), message: UNAVAILABLE_MESSAGE };
  return internal();
}

function rule(code: ErrorCode): { code: ErrorCode; httpStatus: number; retryable: boolean } {
  return { code, ...ERROR_CODES[code] };
}

function internal(): MappedError {
  return { ...rule('INTERNAL'), message: INTERNAL_MESSAGE };
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

function withDetails(mapped: MappedError, details: Readonly<Record<string, unknown>> | undefined): MappedError {
  return details === undefined ? mapped : { ...mapped, details };
}

/** Server-side failures are logged at error level with the real error; client mistakes at debug. */
export function isServerError(mapped: MappedError): boolean {
  return mapped.httpStatus >= 500;
}
