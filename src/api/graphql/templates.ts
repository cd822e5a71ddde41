import type { GraphQLSlice } from './context.js';

/** The templates slice of the GraphQL API (filled in by the templates work). */
export const templatesSlice: GraphQLSlice = { name: 'templates', typeDefs: '', resolvers: {} };
