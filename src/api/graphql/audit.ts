import type { GraphQLSlice } from './context.js';

// Filled in by the audit work (issue 7); registered in SLICES so that slice edits stay in this file.
export const auditSlice: GraphQLSlice = { name: 'audit', typeDefs: '', resolvers: {} };
