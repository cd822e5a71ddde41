import type { GraphQLSlice } from './context.js';

/** The segments slice of the GraphQL API (filled in by the segments work). */
export const segmentsSlice: GraphQLSlice = { name: 'segments', typeDefs: '', resolvers: {} };
