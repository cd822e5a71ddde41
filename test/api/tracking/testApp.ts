import Fastify, { type FastifyInstance, type FastifyPluginCallback } from 'fastify';
import { authPlugin } from '../../../src/api/plugins/auth.js';
import { correlationIdOf, correlationPlugin } from '../../../src/api/plugins/correlation.js';
import { errorsPlugin } from '../../../src/api/plugins/errors.js';
import { BODY_LIMIT_BYTES } from '../../../src/api/server.js';
import type { ServerDeps } from '../../../src/api/deps.js';

/**
 * The HTTP side of buildServer (errors, correlation ids, API-key auth) plus one plugin under test, without the
 * GraphQL slices: the delivery plugins do not depend on them.
 */
export async function httpTestApp(deps: ServerDeps, plugin: FastifyPluginCallback<{ deps: ServerDeps }>): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, genReqId: correlationIdOf, requestIdHeader: false });
  await app.register(errorsPlugin);
  await app.register(correlationPlugin);
  await app.register(authPlugin, { db: deps.db });
  await app.register(plugin, { deps });
  await app.ready();
  return app;
}
