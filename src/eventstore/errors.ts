import type { ExpectedRevision } from './port.js';

/** Base of every error the event store port raises; `code` is stable and mapped by the API's error mapper. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  /** A caller may retry the same operation (after re-reading state, for conflicts). */
  abstract readonly retryable: boolean;
}

export class WrongExpectedRevisionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_REVISION';
  readonly retryable = true;
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision; 'no_stream' when it does not exist. */
    readonly actual: number | 'no_stream',
  ) {
    super(`Stream ${streamId}: expected revision ${String(expected)} but the stream is at ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** The caller asked for something the store will not accept; nothing was written. */
export class InvalidAppendError extends EventStoreError {
  readonly code = 'INVALID_EVENT';
  readonly retryable = false;
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'InvalidAppendError';
  }
}

/** The backing database is unreachable or failed; the operation may or may not be retried by the caller. */
export class EventStoreUnavailableError extends EventStoreError {
  readonly code = 'EVENT_STORE_UNAVAILABLE';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}

/** An `appendMany` on a store without multi-stream transactions stopped part-way (see EventStore.appendMany). */
export class AppendManyError extends EventStoreError {
  readonly code: string;
  readonly retryable: boolean;
  constructor(
    /** Streams (in input order) that were written before the failure. */
    readonly completed: number,
    readonly failedStreamId: string,
    override readonly cause: EventStoreError,
  ) {
    super(`appendMany stopped at stream ${failedStreamId} after ${completed} stream(s) were written: ${cause.message}`, { cause });
    this.name = 'AppendManyError';
    this.code = cause.code;
    this.retryable = cause.retryable;
  }
}
