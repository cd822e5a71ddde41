import { GraphQLScalarType } from 'graphql';
import type { FieldResolver, GraphQLSlice, Resolvers, SubscriptionResolver } from './context.js';
import { activitySlice } from './activity.js';
import { commandsSlice } from './commands.js';
import { contactsSlice } from './contacts.js';
import { segmentsSlice } from './segments.js';
import { templatesSlice } from './templates.js';
import { campaignsSlice } from './campaigns.js';
import { campaignLiveSlice } from './campaignLive.js';
import { launchesSlice } from './launches.js';
import { importsSlice } from './imports.js';
import { duplicatesSlice } from './duplicates.js';
import { iamSlice } from './iam.js';
import { operationsSlice } from './operations.js';
import { scalarsSlice } from './scalars.js';
import { auditSlice } from './audit.js';
import { privacySlice } from './privacy.js';

/**
 * Every slice of the GraphQL API. A new slice adds a file with its SDL (`extend type Query { ... }`,
 * `extend type Mutation { ... }`) and resolvers, and one entry here.
 */
export const SLICES: readonly GraphQLSlice[] = [scalarsSlice, commandsSlice, iamSlice, activitySlice, operationsSlice, contactsSlice, segmentsSlice, templatesSlice, campaignsSlice, campaignLiveSlice, launchesSlice, importsSlice, duplicatesSlice, auditSlice, privacySlice];

export interface MergedSchema {
  readonly typeDefs: string[];
  readonly resolvers: Resolvers;
}

/** Concatenates the slices' SDL and merges their resolvers; two slices resolving the same field is an error. */
export function mergeSlices(slices: readonly GraphQLSlice[] = SLICES): MergedSchema {
  const resolvers: Record<string, Record<string, FieldResolver | SubscriptionResolver> | GraphQLScalarType> = {};
  for (const slice of slices) {
    for (const [typeName, typeResolvers] of Object.entries(slice.resolvers)) {
      const existing = resolvers[typeName];
      if (existing === undefined) {
        resolvers[typeName] = isScalar(typeResolvers) ? typeResolvers : { ...typeResolvers };
        continue;
      }
      if (isScalar(existing) || isScalar(typeResolvers)) throw new Error(`GraphQL slice ${slice.name}: scalar ${typeName} is defined twice`);
      for (const [field, resolve] of Object.entries(typeResolvers)) {
        if (field in existing) throw new Error(`GraphQL slice ${slice.name}: ${typeName}.${field} is resolved twice`);
        existing[field] = resolve;
      }
    }
  }
  return { typeDefs: slices.map((s) => s.typeDefs), resolvers };
}

function isScalar(value: Record<string, FieldResolver | SubscriptionResolver> | GraphQLScalarType): value is GraphQLScalarType {
  return value instanceof GraphQLScalarType;
}
