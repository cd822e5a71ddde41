import type { GraphQLSlice } from './context.js';

/** The contacts slice of the GraphQL API (filled in by the contacts work). */
export const contactsSlice: GraphQLSlice = { name: 'contacts', typeDefs: '', resolvers: {} };
