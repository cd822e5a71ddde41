import type { GraphQLScalarType } from 'graphql';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerDeps } from '../deps.js';
import { forbidden, unauthenticated } from '../errors.js';
import { can, type Action } from '../iam/permissions.js';
import type { Principal } from '../iam/principal.js';

/** What every resolver gets as its third argument (mercurius adds `app` and `reply`). */
export interface GraphQLContext {
  readonly principal: Principal | null;
  readonly correlationId: string;
  /** The request's logger: carries correlationId, actor and workspaceId. */
  readonly logger: FastifyBaseLogger;
  readonly deps: ServerDeps;
}

/**
 * The one role check: every resolver starts with it and uses the returned principal's workspaceId to scope
 * what it reads and writes.
 */
export function requirePermission(context: GraphQLContext, action: Action): Principal {
  const principal = context.principal;
  if (principal === null) throw unauthenticated();
  if (!can(principal.role, action)) throw forbidden(`Role ${principal.role} may not ${action}.`);
  return principal;
}

/**
 * A field resolver. Parameters are `never` so that each resolver can declare its own parent and args types
 * and still fit in the map (function parameters are contravariant).
 */
export type FieldResolver = (parent: never, args: never, context: GraphQLContext) => unknown;

/** A field of `type Subscription`: `subscribe` returns the event stream, `resolve` maps one event to the field's value. */
export interface SubscriptionResolver {
  readonly subscribe: (parent: never, args: never, context: SubscriptionContext, info: never) => unknown;
  readonly resolve?: (payload: never, args: never, context: SubscriptionContext) => unknown;
}

/** A subscription's context: the request context plus mercurius' pubsub (NATS, see natsPubSub.ts). */
export interface SubscriptionContext extends GraphQLContext {
  readonly pubsub: { subscribe(topic: string | string[]): Promise<AsyncIterable<unknown>> };
}

export type Resolvers = Record<string, Record<string, FieldResolver | SubscriptionResolver> | GraphQLScalarType>;

/** One vertical slice of the API: SDL (may `extend type Query`/`Mutation`) and its resolvers. */
export interface GraphQLSlice {
  readonly name: string;
  readonly typeDefs: string;
  readonly resolvers: Resolvers;
}
