import { GraphQLScalarType, valueFromASTUntyped } from 'graphql';
import type { RuleExplanation } from '../../domain/segments/explain.js';
import { SEGMENTS_PROJECTION } from '../../projections/segments/projection.js';
import { explainMembership, findSegment, listMembers, listSegments, type SegmentPageCursor, type SegmentRow } from '../../projections/segments/queries.js';
import { SEGMENT_COMMANDS } from '../commands/segments.js';
import type { CommandDefinition } from '../commands/catalog.js';
import { receipt, runCommand } from './commands.js';
import { awaitReadModel } from './consistency.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';

/** Rules in and out as plain JSON; the commands validate them (errors name the path, e.g. rules.all[2].value). */
export const SegmentRulesScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'SegmentRules',
  description: 'A segment rule tree as JSON, e.g. {"all":[{"tag":"vip"},{"subscribed":"newsletter"}]}. See the README for the rule language.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

const typeDefs = /* GraphQL */ `
  scalar SegmentRules

  enum SegmentStatus {
    ACTIVE
    DELETED
  }

  "A named, versioned rule definition and its members, kept up to date as contacts change."
  type Segment {
    id: ID!
    name: String!
    description: String
    status: SegmentStatus!
    "1 when defined, +1 for every rules change."
    version: Int!
    rules: SegmentRules!
    "Segments named in the rules' inSegment leaves."
    dependsOn: [ID!]!
    memberCount: Int!
    "The rules version the members were last fully evaluated for."
    evaluatedVersion: Int
    createdAt: DateTime!
    updatedAt: DateTime!
    "Members by contact id."
    members(first: Int = 50, after: String): SegmentMemberConnection!
  }

  type SegmentEdge {
    cursor: String!
    node: Segment!
  }

  type SegmentConnection {
    edges: [SegmentEdge!]!
    pageInfo: PageInfo!
  }

  "Why a contact entered: a change of the contact (trigger contact) or a full evaluation of the rules (trigger rules)."
  type MembershipReason {
    trigger: String!
    eventType: String!
    position: BigInt!
    "The rules version that matched."
    version: Int!
  }

  type SegmentMember {
    contactId: ID!
    email: String!
    since: DateTime!
    reason: MembershipReason!
  }

  type SegmentMemberEdge {
    cursor: String!
    node: SegmentMember!
  }

  type SegmentMemberConnection {
    edges: [SegmentMemberEdge!]!
    pageInfo: PageInfo!
  }

  "One node of the rule tree evaluated against the contact; children follow their parent (path rules.all[0] is under rules)."
  type RuleExplanation {
    path: String!
    depth: Int!
    rule: SegmentRules!
    result: Boolean!
    detail: String!
  }

  type MembershipExplanation {
    segmentId: ID!
    contactId: ID!
    "Whether the contact is a member as recorded by the read model."
    isMember: Boolean!
    since: DateTime
    "What evaluating the rules against the contact gives now (differs from isMember only for time-relative rules)."
    matches: Boolean!
    "The rule tree, depth first, root first."
    explanation: [RuleExplanation!]!
  }

  input DefineSegmentInput {
    "Optional; derived from the commandId when absent."
    segmentId: ID
    name: String!
    description: String
    rules: SegmentRules!
  }

  input ChangeSegmentRulesInput {
    segmentId: ID!
    rules: SegmentRules!
    expectedRevision: Int
  }

  input RenameSegmentInput {
    segmentId: ID!
    name: String!
    "Absent: unchanged; null: cleared."
    description: String
    expectedRevision: Int
  }

  input DeleteSegmentInput {
    segmentId: ID!
    expectedRevision: Int
  }

  type SegmentPayload {
    receipt: CommandReceipt!
    segmentId: ID!
  }

  extend type Query {
    "Segments by name. consistentWith: a position returned by a mutation (read-your-writes)."
    segments(first: Int = 50, after: String, includeDeleted: Boolean = false, consistentWith: BigInt): SegmentConnection!
    "Null when the workspace has no such segment."
    segment(id: ID!, consistentWith: BigInt): Segment
    "Why a contact is in or out of a segment. Null when the segment or the contact is unknown."
    explainMembership(segmentId: ID!, contactId: ID!, consistentWith: BigInt): MembershipExplanation
  }

  extend type Mutation {
    defineSegment(input: DefineSegmentInput!, commandId: String): SegmentPayload!
    changeSegmentRules(input: ChangeSegmentRulesInput!, commandId: String): SegmentPayload!
    renameSegment(input: RenameSegmentInput!, commandId: String): SegmentPayload!
    "Refused (INVALID_TRANSITION) while another active segment uses this one in inSegment."
    deleteSegment(input: DeleteSegmentInput!, commandId: String): SegmentPayload!
  }
`;

interface SegmentNode {
  readonly id: string;
  readonly [field: string]: unknown;
}

function segmentNode(row: SegmentRow): SegmentNode {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status.toUpperCase(),
    version: row.version,
    rules: row.rules,
    dependsOn: row.depends_on,
    memberCount: Number(row.member_count),
    evaluatedVersion: row.evaluated_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function parseSegmentCursor(value: unknown): SegmentPageCursor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { n, id } = value as { n?: unknown; id?: unknown };
  return typeof n === 'string' && typeof id === 'string' ? { name: n, id } : undefined;
}

const parseMemberCursor = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function flatten(node: RuleExplanation, depth = 0): { path: string; depth: number; rule: unknown; result: boolean; detail: string }[] {
  const { path, rule, result, detail } = node;
  return [{ path, depth, rule, result, detail }, ...node.children.flatMap((child) => flatten(child, depth + 1))];
}

function mutation<Input>(definition: CommandDefinition<Input>) {
  return async (_: unknown, args: { input: unknown; commandId?: string | null }, ctx: GraphQLContext) => {
    const outcome = await runCommand(ctx, definition, args.input, args.commandId);
    return { receipt: receipt(outcome), segmentId: outcome.data?.segmentId };
  };
}

export const segmentsSlice: GraphQLSlice = {
  name: 'segments',
  typeDefs,
  resolvers: {
    SegmentRules: SegmentRulesScalar,
    Query: {
      segments: async (_: unknown, args: { first: number; after?: string | null; includeDeleted: boolean; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, SEGMENTS_PROJECTION, args.consistentWith);
        const page = await listSegments(ctx.deps.db, {
          workspaceId: principal.workspaceId,
          after: args.after == null ? null : decodeCursor(args.after, parseSegmentCursor),
          limit: pageSize(args.first),
          includeDeleted: args.includeDeleted,
        });
        return toConnection(page.rows, page.hasNextPage, (row) => encodeCursor({ n: row.name, id: row.id }), segmentNode);
      },
      segment: async (_: unknown, args: { id: string; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, SEGMENTS_PROJECTION, args.consistentWith);
        const row = await findSegment(ctx.deps.db, principal.workspaceId, args.id);
        return row === undefined ? null : segmentNode(row);
      },
      explainMembership: async (_: unknown, args: { segmentId: string; contactId: string; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, SEGMENTS_PROJECTION, args.consistentWith);
        const { segmentId, contactId } = args;
        const explained = await explainMembership(ctx.deps.db, { workspaceId: principal.workspaceId, segmentId, contactId, now: new Date() });
        if (explained === null) return null;
        return { segmentId, contactId, isMember: explained.isMember, since: explained.since, matches: explained.matches, explanation: flatten(explained.explanation) };
      },
    },
    Segment: {
      members: async (segment: SegmentNode, args: { first: number; after?: string | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const page = await listMembers(ctx.deps.db, {
          workspaceId: principal.workspaceId,
          segmentId: segment.id,
          after: args.after == null ? null : decodeCursor(args.after, parseMemberCursor),
          limit: pageSize(args.first),
        });
        return toConnection(page.rows, page.hasNextPage, (row) => encodeCursor(row.contactId), (row) => row);
      },
    },
    Mutation: {
      defineSegment: mutation(SEGMENT_COMMANDS.DefineSegment),
      changeSegmentRules: mutation(SEGMENT_COMMANDS.ChangeSegmentRules),
      renameSegment: mutation(SEGMENT_COMMANDS.RenameSegment),
      deleteSegment: mutation(SEGMENT_COMMANDS.DeleteSegment),
    },
  },
};
