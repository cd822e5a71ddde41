import type { GraphQLSlice } from './context.js';

/** The campaigns slice of the GraphQL API (filled in by the campaigns work). */
export const campaignsSlice: GraphQLSlice = { name: 'campaigns', typeDefs: '', resolvers: {} };
