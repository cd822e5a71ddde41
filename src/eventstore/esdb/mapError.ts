import { ErrorType, isCommandError } from '@eventstore/db-client';
import { status } from '@grpc/grpc-js';
import { EventStoreError, EventStoreUnavailableError } from '../errors.js';

/** Failures of the connection or of the server itself: the caller may retry the same operation later. */
const UNAVAILABLE_TYPES: ReadonlySet<string> = new Set([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.CANCELLED,
  ErrorType.NOT_LEADER,
]);
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.RESOURCE_EXHAUSTED,
  status.UNKNOWN,
]);

/**
 * Translates a client error into the port's vocabulary. Connection and server failures become
 * EventStoreUnavailableError; everything else (access denied, an option the server rejects) is a programming or
 * configuration error and is rethrown unchanged so it is not mistaken for something a retry can fix.
 */
export function mapEsdbError(error: unknown, operation: string): unknown {
  if (error instanceof EventStoreError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const grpcCode = typeof code === 'number' ? code : undefined;
  const unavailable = isCommandError(error)
    ? UNAVAILABLE_TYPES.has(error.type) || (error.type === ErrorType.UNKNOWN && grpcCode !== undefined && UNAVAILABLE_CODES.has(grpcCode))
    : grpcCode !== undefined && UNAVAILABLE_CODES.has(grpcCode);
  if (!unavailable) return error;
  return new EventStoreUnavailableError(`EventStoreDB ${operation} failed: ${error.message}`, { cause: error });
}
