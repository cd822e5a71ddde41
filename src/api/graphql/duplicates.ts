import type { DedupeRule } from '../../domain/contacts/dedupe.js';
import { CONTACTS_PROJECTION } from '../../projections/contacts/projection.js';
import { findDuplicateGroups } from '../../projections/contacts/duplicates.js';
import { FindAndMergeDuplicates, groupJson, MergeContacts, parseRules } from '../commands/contactMerges.js';
import { ValidationError } from '../errors.js';
import { receipt, runCommand } from './commands.js';
import { awaitReadModel } from './consistency.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';

const typeDefs = /* GraphQL */ `
  """
  EMAIL_CANONICAL: the same mailbox after provider folding (gmail.com/googlemail.com ignore dots and +tags;
  outlook, hotmail, live, icloud, me, fastmail, proton ignore +tags; case-folded). PHONE: the same E.164 number.
  EXTERNAL_ID: the same external id.
  """
  enum DedupeRule { EMAIL_CANONICAL PHONE EXTERNAL_ID }

  type DuplicateContact { id: ID! email: String! phone: String externalId: String createdAt: DateTime! }
  "A duplicate, with the first rule (and its key) by which it matches the survivor or, transitively, another member."
  type DuplicateMatch { contact: DuplicateContact! rule: DedupeRule! key: String! }
  "The survivor is the oldest contact of the group (created first; then the smaller id)."
  type DuplicateGroup { survivor: DuplicateContact! duplicates: [DuplicateMatch!]! }
  "truncated: more shared keys than maxGroups per rule; merge these, then search again."
  type DuplicateSearch { groups: [DuplicateGroup!]! truncated: Boolean! }
  type MergeFailure { survivorId: ID! duplicateId: ID! code: String! message: String! }
  type MergeDuplicatesPayload {
    "The last merge's receipt (position: pass it as consistentWith)."
    receipt: CommandReceipt!
    dryRun: Boolean!
    groupCount: Int!
    duplicateCount: Int!
    merged: Int!
    truncated: Boolean!
    groups: [DuplicateGroup!]!
    failures: [MergeFailure!]!
  }
  type MergeContactsPayload { receipt: CommandReceipt! survivorId: ID! duplicateId: ID! }
  input MergeContactsInput { survivorId: ID! duplicateId: ID! }

  extend type Query {
    "Duplicate groups among the workspace's active contacts (read model), at most maxGroups shared keys per rule."
    findDuplicates(rules: [DedupeRule!]!, maxGroups: Int = 100, consistentWith: BigInt): DuplicateSearch!
  }

  extend type Mutation {
    """
    Merges duplicateId into survivorId: ContactAbsorbed on the survivor (attribute precedence: the survivor's
    non-empty values win; tags united; the most recent consent decision per topic; suppressed if either was),
    then ContactMerged on the duplicate, which accepts no more commands.
    """
    mergeContacts(input: MergeContactsInput!, commandId: String): MergeContactsPayload!
    "Finds duplicate groups and merges each duplicate into its survivor (dryRun: only finds them)."
    mergeDuplicates(rules: [DedupeRule!]!, dryRun: Boolean = false, maxGroups: Int, commandId: String): MergeDuplicatesPayload!
  }
`;

type Upper<T extends string> = Uppercase<T>;
const lowerRules = (rules: readonly Upper<DedupeRule>[]): string[] => rules.map((r) => r.toLowerCase());

interface GroupJson {
  survivor: Record<string, unknown>;
  duplicates: (Record<string, unknown> & { rule: string; key: string })[];
}

function groupNode(group: GroupJson) {
  return {
    survivor: group.survivor,
    duplicates: group.duplicates.map(({ rule, key, ...contact }) => ({ contact, rule: rule.toUpperCase(), key })),
  };
}

export const duplicatesSlice: GraphQLSlice = {
  name: 'duplicates',
  typeDefs,
  resolvers: {
    Query: {
      findDuplicates: async (_: unknown, args: { rules: Upper<DedupeRule>[]; maxGroups: number; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const rules = parseRules(lowerRules(args.rules), 'rules');
        if (!Number.isInteger(args.maxGroups) || args.maxGroups < 1 || args.maxGroups > 1_000) throw new ValidationError('maxGroups', 'maxGroups must be between 1 and 1000.');
        await awaitReadModel(ctx, CONTACTS_PROJECTION, args.consistentWith);
        const { groups, truncated } = await findDuplicateGroups(ctx.deps.db, principal.workspaceId, rules, args.maxGroups);
        return { groups: groups.map((g) => groupNode(groupJson(g))), truncated };
      },
    },
    Mutation: {
      mergeContacts: async (_: unknown, args: { input: { survivorId: string; duplicateId: string }; commandId?: string | null }, ctx: GraphQLContext) => {
        requirePermission(ctx, 'write');
        const outcome = await runCommand(ctx, MergeContacts, args.input, args.commandId);
        return { receipt: receipt(outcome), survivorId: args.input.survivorId, duplicateId: args.input.duplicateId };
      },
      mergeDuplicates: async (
        _: unknown,
        args: { rules: Upper<DedupeRule>[]; dryRun?: boolean | null; maxGroups?: number | null; commandId?: string | null },
        ctx: GraphQLContext,
      ) => {
        requirePermission(ctx, 'write');
        const input = { rules: lowerRules(args.rules), dryRun: args.dryRun ?? false, ...(args.maxGroups == null ? {} : { maxGroups: args.maxGroups }) };
        const outcome = await runCommand(ctx, FindAndMergeDuplicates, input, args.commandId);
        const data = outcome.data as { dryRun: boolean; groupCount: number; duplicateCount: number; merged: number; truncated: boolean; groups: GroupJson[]; failures: unknown[] };
        return { receipt: receipt(outcome), ...data, groups: data.groups.map(groupNode) };
      },
    },
  },
};
