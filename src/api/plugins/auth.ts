import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import { unauthenticated } from '../errors.js';
import { authenticate } from '../iam/authenticate.js';
import type { Principal } from '../iam/principal.js';

declare module 'fastify' {
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

/** Every route requires a valid `Authorization: Bearer <api key>` unless its config says `public: true`. */
export const authPlugin = fp<{ db: Kysely<Database> }>(
  async (app, { db }) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.public === true) return;
      // A browser cannot set headers on a WebSocket: a GraphQL subscription may instead send its key in the
      // connection_init payload, checked by the graphql plugin's onConnect before any operation runs.
      if (request.headers.authorization === undefined && request.headers.upgrade?.toLowerCase() === 'websocket') return;
      const match = BEARER.exec(request.headers.authorization ?? '');
      const principal = match?.[1] === undefined ? null : await authenticate(db, match[1]);
      if (principal === null) throw unauthenticated();
      request.principal = principal;
      request.log = request.log.child({ actor: principal.actor, workspaceId: principal.workspaceId });
    });
  },
  { name: 'auth', fastify: '5.x', dependencies: ['correlation'] },
);
