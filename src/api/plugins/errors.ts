import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isServerError, mapError, notFound, type MappedError } from '../errors.js';

/** The JSON body of every failed non-GraphQL request. */
export interface HttpErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean; readonly details?: unknown };
}

export function httpErrorBody(mapped: MappedError): HttpErrorBody {
  const { code, message, retryable, details } = mapped;
  return { error: details === undefined ? { code, message, retryable } : { code, message, retryable, details } };
}

/** fastify's `frameworkErrors`: a request refused before routing (a URL that cannot be decoded) gets our shape too. */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mapped = mapError(error);
  void reply.code(mapped.httpStatus).send(httpErrorBody(mapped));
}

/** HTTP routes answer errors through the one mapper (src/api/errors.ts); /graphql has its own formatter. */
export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler(async (error, request, reply) => {
      const mapped = mapError(error);
      if (isServerError(mapped)) request.log.error({ err: error }, 'request failed');
      else request.log.debug({ err: error, code: mapped.code }, 'request rejected');
      return reply.code(mapped.httpStatus).send(httpErrorBody(mapped));
    });
    app.setNotFoundHandler(async (request, reply) => {
      const mapped = mapError(notFound(`Route ${request.method} ${request.url}`));
      return reply.code(mapped.httpStatus).send(httpErrorBody(mapped));
    });
  },
  { name: 'errors', fastify: '5.x' },
);
