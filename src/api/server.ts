import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ServerDeps } from './deps.js';
import { authPlugin } from './plugins/auth.js';
import { CORRELATION_LOG_LABEL, correlationIdOf, correlationPlugin } from './plugins/correlation.js';
import { answerFrameworkError, errorsPlugin } from './plugins/errors.js';
import { graphqlPlugin } from './plugins/graphql.js';
import { healthPlugin } from './plugins/health.js';
import { metricsPlugin } from './plugins/metrics.js';
import { tracingPlugin } from './plugins/tracing.js';
import { rateLimitPlugin } from './plugins/rateLimit.js';
import { trackingPlugin } from './http/tracking.js';
import { bouncesPlugin } from './http/bounces.js';

export type { ReadinessCheck, ServerDeps } from './deps.js';

/** Larger request bodies are refused with 413 before they are parsed. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

const PROBE_URLS = new Set(['/health', '/ready', '/metrics']);

/**
 * The configured API, ready for `inject` or `listen` (only main.ts listens). Each plugin is loaded before this
 * resolves, so a bad schema fails here. Closing the app does not close the dependencies: their creator owns them.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Typed as fastify's logger interface so the instance is a plain FastifyInstance; it is the pino logger.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: deps.config.trustProxy,
    // request.id is the correlation id (see plugins/correlation.ts); the header is read there, with checks.
    genReqId: correlationIdOf,
    requestIdHeader: false,
    // A URL fastify cannot decode (`/t/o/%uD800`) is answered before any route or error handler: give it our shape.
    frameworkErrors: answerFrameworkError,
    logController: new LogController({
      requestIdLogLabel: CORRELATION_LOG_LABEL,
      // Probes hit these every few seconds; their request lines would drown the log.
      disableRequestLogging: (request) => PROBE_URLS.has(request.url),
    }),
  });
  await app.register(errorsPlugin);
  await app.register(correlationPlugin);
  await app.register(authPlugin, { db: deps.db, authFailuresPerMinute: deps.config.rateLimits.authFailuresPerMinute });
  await app.register(rateLimitPlugin, { limits: deps.config.rateLimits });
  await app.register(trackingPlugin, { deps });
  await app.register(bouncesPlugin, { deps });
  await app.register(healthPlugin, { deps });
  await app.register(metricsPlugin);
  await app.register(tracingPlugin); // before graphqlPlugin: it wraps the /graphql route as it is added
  await app.register(graphqlPlugin, { deps });
  return app;
}
