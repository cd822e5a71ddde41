import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { FastifyBaseLogger } from 'fastify';
import type { MercuriusContext } from 'mercurius';
import { ERROR_CODES, isServerError, mapError, type MappedError } from '../errors.js';

/**
 * mercurius' errorFormatter, built on the one mapper (src/api/errors.ts): every error gets
 * `extensions: { code, retryable, field?, details? }`; unknown errors become INTERNAL with a generic message
 * and are logged with their real cause.
 *
 * HTTP status: an executed operation answers 200 even with errors (GraphQL over HTTP); a request refused before
 * execution (no API key, body too large, a query that does not parse or validate) answers the mapped status.
 */
export function formatGraphQLErrors(
  execution: ExecutionResult & { readonly errors: readonly GraphQLError[] },
  context: MercuriusContext,
): { statusCode: number; response: { data: ExecutionResult['data'] | null; errors: GraphQLFormattedError[] } } {
  // `reply` is absent when app.graphql() is called without a request.
  const log: FastifyBaseLogger = (context.reply as MercuriusContext['reply'] | undefined)?.request.log ?? context.app.log;
  const formatted = execution.errors.flatMap(expand).map((error) => formatOne(error, log));
  const executed = execution.data !== undefined;
  const statusCode = executed ? 200 : (formatted[0]?.httpStatus ?? 500);
  return { statusCode, response: { data: execution.data ?? null, errors: formatted.map((f) => f.error) } };
}

/** mercurius wraps parse and validation failures in one MER_ERR_GQL_VALIDATION error with an `errors` list. */
function expand(error: GraphQLError): GraphQLError[] {
  const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(inner)) return [error];
  return inner.map((e: unknown) => {
    if (e instanceof GraphQLError) return e;
    const message = e instanceof Error ? e.message : String(e);
    // mercurius' depth limit (queryDepth) reports itself as a 500-status FastifyError; it is the client's query.
    const depth = (e as { code?: unknown } | null)?.code === 'MER_ERR_GQL_QUERY_DEPTH';
    return new GraphQLError(message, depth ? { extensions: { code: 'QUERY_TOO_COMPLEX' } } : {});
  });
}

/** graphql-js (or one of our validation rules, which may set a known code) rejecting the document or its variables. */
function documentError(error: GraphQLError): MappedError {
  const code = error.extensions?.code;
  const known = typeof code === 'string' && code !== 'INTERNAL' && Object.hasOwn(ERROR_CODES, code) ? (code as keyof typeof ERROR_CODES) : 'BAD_USER_INPUT';
  return { code: known, httpStatus: ERROR_CODES[known].httpStatus, message: error.message, retryable: false };
}

function formatOne(error: GraphQLError, log: FastifyBaseLogger): { error: GraphQLFormattedError; httpStatus: number } {
  const original = error.originalError;
  // Without a cause (or caused by another GraphQLError) it is graphql-js rejecting the document or its
  // variables: the message describes the client's request.
  const mapped: MappedError =
    original === undefined || original instanceof GraphQLError ? documentError(error) : mapError(original);
  if (isServerError(mapped)) log.error({ err: original ?? error, path: error.path }, 'GraphQL error');
  else log.debug({ code: mapped.code, message: error.message, path: error.path }, 'GraphQL request rejected');
  const field = mapped.details?.field;
  const extensions: Record<string, unknown> = { code: mapped.code, retryable: mapped.retryable };
  if (typeof field === 'string') extensions.field = field;
  if (mapped.details !== undefined) extensions.details = mapped.details;
  const formatted: GraphQLFormattedError = {
    message: mapped.message,
    ...(error.locations === undefined ? {} : { locations: error.locations }),
    ...(error.path === undefined ? {} : { path: error.path }),
    extensions,
  };
  return { error: formatted, httpStatus: mapped.httpStatus };
}
