import fp from 'fastify-plugin';
import mercurius from 'mercurius';
import type { ServerDeps } from '../deps.js';
import type { GraphQLContext } from '../graphql/context.js';
import { complexityLimit } from '../graphql/complexity.js';
import { formatGraphQLErrors } from '../graphql/errorFormatter.js';
import { mergeSlices } from '../graphql/schema.js';
import { NatsPubSub } from '../graphql/natsPubSub.js';
import { authenticate } from '../iam/authenticate.js';
import { ValidationError } from '../errors.js';
import { UNSTORABLE_TEXT_MESSAGE, unstorableTextPath } from '../storableText.js';

const MAX_QUERY_DEPTH = 12;

/**
 * mercurius reads a query that is not GraphQL text as a JSON-encoded AST (a query that is an object, or a string
 * that fails to parse and is JSON), an input format we do not offer: a malformed one (`null`) crashed
 * validation with a 500. An executable GraphQL document never starts with a JSON value, so those are refused
 * before mercurius sees them; anything else that does not parse is still its syntax error.
 */
const JSON_VALUE_START = /^[\s,\uFEFF]*(?:[[\]"\d-]|\{[\s,]*"|(?:null|true|false)(?![_0-9A-Za-z]))/;
function isGraphQLText(query: unknown): boolean {
  return typeof query === 'string' && !JSON_VALUE_START.test(query);
}

/** `\u0000` or `\u{0}` in a string literal: graphql-js accepts it (it refuses unpaired surrogate escapes itself). */
const NUL_ESCAPE = /\\u(?:0000|\{0+\})/;

function parsedJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined; // mercurius reports the malformed variables itself
  }
}

/** mercurius at /graphql (API key required), GraphiQL at /graphiql outside production (public: static UI only). */
export const graphqlPlugin = fp<{ deps: ServerDeps }>(
  async (app, { deps }) => {
    const graphiql = deps.config.nodeEnv !== 'production';
    app.addHook('onRoute', (route) => {
      if (route.url === '/graphiql' || route.url.startsWith('/graphiql/')) route.config = { ...route.config, public: true };
    });
    // GraphQL over HTTP allows `"extensions": null`; mercurius' body schema only accepts an object there.
    app.addHook('preValidation', async (request) => {
      const body = request.body as { extensions?: unknown; query?: unknown } | null;
      if (request.method === 'POST' && body !== null && typeof body === 'object' && body.extensions === null) delete body.extensions;
      const query = request.method === 'POST' ? (body !== null && typeof body === 'object' ? body.query : undefined) : (request.query as { query?: unknown } | null)?.query;
      if (query !== undefined && !isGraphQLText(query)) throw new ValidationError('query', 'query must be a GraphQL document as text.');
      if (typeof query === 'string' && NUL_ESCAPE.test(query)) throw new ValidationError('query', `String values ${UNSTORABLE_TEXT_MESSAGE}.`);
      const variables = request.method === 'POST' ? (body as { variables?: unknown } | null)?.variables : parsedJson((request.query as { variables?: unknown } | null)?.variables);
      const unstorable = unstorableTextPath(variables);
      if (unstorable !== null) throw new ValidationError(unstorable === '' ? 'variables' : unstorable, `${unstorable === '' ? 'variables' : unstorable} ${UNSTORABLE_TEXT_MESSAGE}.`);
    });
    const { typeDefs, resolvers } = mergeSlices();
    await app.register(mercurius, {
      schema: typeDefs,
      resolvers,
      path: '/graphql',
      graphiql,
      queryDepth: MAX_QUERY_DEPTH,
      validationRules: [complexityLimit()],
      errorFormatter: formatGraphQLErrors,
      context: (request): GraphQLContext => ({
        principal: request.principal,
        correlationId: request.correlationId,
        logger: request.log,
        deps,
      }),
      subscription: {
        pubsub: new NatsPubSub(deps.nats),
        context: (_socket, request): GraphQLContext => ({ principal: request.principal, correlationId: request.correlationId, logger: request.log, deps }),
        // `{ "authorization": "Bearer <key>" }` in connection_init; a bad key closes the connection and counts as a
        // failed authentication of the client's IP. mercurius calls onConnect as a method of the connection, whose
        // context holds the upgrade request (test/security/authFailures.test.ts pins this down).
        onConnect: async function (this: { context?: { request?: { ip?: string } } }, { payload }) {
          const header = (payload as { authorization?: unknown; Authorization?: unknown } | null)?.authorization ?? (payload as { Authorization?: unknown } | null)?.Authorization;
          if (header === undefined) return true;
          const key = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
          const principal = key === undefined ? null : await authenticate(deps.db, key);
          if (principal !== null) return { principal };
          const ip = this.context?.request?.ip;
          if (ip !== undefined) app.authFailures?.recordFailure(ip);
          return false;
        },
      },
    });
  },
  { name: 'graphql', fastify: '5.x', dependencies: ['correlation', 'auth'] },
);
