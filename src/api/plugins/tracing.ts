import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import { endSpan, runInSpan, SpanKind, startSpan, tracingEnabled } from '../../infra/spans.js';
import type { Span } from '@opentelemetry/api';

const GRAPHQL_PATH = '/graphql';

/**
 * A server span per GraphQL request over HTTP (`graphql <type> <name>`), active while mercurius executes it, so
 * that command, append and log lines of the request join its trace. It continues a caller's W3C `traceparent`
 * header. Registered before the GraphQL plugin: it wraps the POST /graphql handler when that route is added.
 */
export const tracingPlugin = fp(
  async (app) => {
    const spans = new WeakMap<FastifyRequest, Span>();
    app.addHook('onRoute', (route) => {
      if (route.url !== GRAPHQL_PATH || route.method !== 'POST') return;
      const handler = route.handler as (this: unknown, request: FastifyRequest, reply: FastifyReply) => unknown;
      route.handler = function traced(this: unknown, request: FastifyRequest, reply: FastifyReply) {
        if (!tracingEnabled()) return handler.call(this, request, reply);
        const operation = operationOf(request.body);
        const header = request.headers.traceparent;
        const span = startSpan(
          operation.name === null ? `graphql ${operation.type}` : `graphql ${operation.type} ${operation.name}`,
          {
            'graphql.operation.type': operation.type,
            ...(operation.name === null ? {} : { 'graphql.operation.name': operation.name }),
            'http.request.method': 'POST',
            'url.path': GRAPHQL_PATH,
            'correlation.id': request.id,
          },
          { kind: SpanKind.SERVER, parent: typeof header === 'string' ? header : null },
        );
        if (span !== undefined) spans.set(request, span);
        return runInSpan(span, request.id, () => handler.call(this, request, reply));
      } as RouteHandlerMethod;
    });
    app.addHook('onResponse', async (request, reply) => {
      const span = spans.get(request);
      if (span === undefined) return;
      span.setAttribute('http.response.status_code', reply.statusCode);
      endSpan(span, reply.statusCode >= 500 ? new Error(`HTTP ${reply.statusCode}`) : undefined);
    });
  },
  { name: 'tracing', fastify: '5.x' },
);

/** The operation's type and name (the body's operationName, the document's, or its first root field); no parse. */
export function operationOf(body: unknown): { type: string; name: string | null } {
  const { query, operationName } = (body ?? {}) as { query?: unknown; operationName?: unknown };
  const text = typeof query === 'string' ? query : '';
  const named = /^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/.exec(text.replace(/^\s*#.*$/gm, ''));
  const type = named?.[1] ?? 'query';
  const name = typeof operationName === 'string' && operationName !== '' ? operationName : (named?.[2] ?? /{\s*([_A-Za-z][_0-9A-Za-z]*)/.exec(text)?.[1] ?? null);
  return { type, name };
}
