import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import { ApiError, unauthenticated } from '../errors.js';
import { AuthFailureThrottle } from '../iam/authFailures.js';
import { authenticate } from '../iam/authenticate.js';
import type { Principal } from '../iam/principal.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Failed authentications per client IP (null: not limited); the graphql plugin records WebSocket ones. */
    authFailures: AuthFailureThrottle | null;
  }
  interface FastifyRequest {
    /** The caller; null only on public routes. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Served without an API key (/health, /ready, GraphiQL). Every other route requires one. */
    public?: boolean;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Every route requires a valid `Authorization: Bearer <api key>` unless its config says `public: true`. A client
 * IP with too many failed authentications in its minute is refused (429) before its key is looked at
 * (iam/authFailures.ts); that includes the WebSocket upgrade.
 */
export const authPlugin = fp<{ db: Kysely<Database>; authFailuresPerMinute?: number | null }>(
  async (app, { db, authFailuresPerMinute }) => {
    const throttle = authFailuresPerMinute == null ? null : new AuthFailureThrottle(authFailuresPerMinute);
    app.decorate('authFailures', throttle);
    app.decorateRequest('principal', null);
    // A refused WebSocket upgrade (401/429) is answered on the raw socket, which node's HTTP server no longer
    // manages: without this it stays half-open after the client gives up, and holds app.close() forever.
    app.addHook('onResponse', async (request, reply) => {
      if (request.headers.upgrade !== undefined && reply.statusCode >= 400) request.raw.socket.destroy();
    });
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.public === true) return;
      const retryAfter = throttle?.retryAfterSeconds(request.ip) ?? null;
      if (retryAfter !== null) {
        void reply.header('retry-after', String(retryAfter));
        throw new ApiError('RATE_LIMITED', `Too many failed authentications from this address. Retry in ${retryAfter} s.`, { retryAfterSeconds: retryAfter });
      }
      // A browser cannot set headers on a WebSocket: a GraphQL subscription may instead send its key in the
      // connection_init payload, checked by the graphql plugin's onConnect before any operation runs.
      if (request.headers.authorization === undefined && request.headers.upgrade?.toLowerCase() === 'websocket') return;
      const match = BEARER.exec(request.headers.authorization ?? '');
      const principal = match?.[1] === undefined ? null : await authenticate(db, match[1]);
      if (principal === null) {
        throttle?.recordFailure(request.ip);
        throw unauthenticated();
      }
      request.principal = principal;
      request.log = request.log.child({ actor: principal.actor, workspaceId: principal.workspaceId });
    });
  },
  { name: 'auth', fastify: '5.x', dependencies: ['correlation'] },
);
