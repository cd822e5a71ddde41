import { buildSchema, type GraphQLSchema } from 'graphql';
import { mergeSlices } from '../../src/api/graphql/schema.js';

/**
 * The API's schema built from the same SDL the server registers, available when a test file is collected, so
 * that `it.each` over its fields covers a new Query, Mutation or Subscription field without touching the tests.
 */
export const sdlSchema: GraphQLSchema = buildSchema(mergeSlices().typeDefs.join('\n'));

export const queryNames: readonly string[] = Object.keys(sdlSchema.getQueryType()?.getFields() ?? {});
export const mutationNames: readonly string[] = Object.keys(sdlSchema.getMutationType()?.getFields() ?? {});
export const subscriptionNames: readonly string[] = Object.keys(sdlSchema.getSubscriptionType()?.getFields() ?? {});
