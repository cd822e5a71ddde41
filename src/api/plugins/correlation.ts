import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';

export const CORRELATION_HEADER = 'x-correlation-id';
const SANE_TOKEN = /^[A-Za-z0-9._:-]{1,100}$/;

declare module 'fastify' {
  interface FastifyRequest {
    /** From the caller's `x-correlation-id` when it is a sane token, else a fresh uuid; equals `request.id`. */
    readonly correlationId: string;
  }
}

/** The key under which request loggers carry the request id (fastify's default is `reqId`). */
export const CORRELATION_LOG_LABEL = 'correlationId';

/**
 * Fastify's `genReqId`: the request id is the correlation id, so `request.log` (a child of the pino instance,
 * labelled CORRELATION_LOG_LABEL) carries it on every line, including fastify's own.
 */
export function correlationIdOf(raw: IncomingMessage): string {
  const header = raw.headers[CORRELATION_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_TOKEN.test(value) ? value : randomUUID();
}

export const correlationPlugin = fp(
  async (app) => {
    app.decorateRequest('correlationId', {
      getter(this: { id: string }) {
        return this.id;
      },
    });
    app.addHook('onRequest', async (request, reply) => {
      reply.header(CORRELATION_HEADER, request.id);
    });
  },
  { name: 'correlation', fastify: '5.x' },
);
