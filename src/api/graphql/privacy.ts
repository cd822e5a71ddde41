import type { GraphQLSlice } from './context.js';

// Filled in by the privacy work (issue 7); registered in SLICES so that slice edits stay in this file.
export const privacySlice: GraphQLSlice = { name: 'privacy', typeDefs: '', resolvers: {} };
