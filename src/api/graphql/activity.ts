import mercurius from 'mercurius';
import { listActivity, listActivityAt, type ActivityRow } from '../../projections/activity/queries.js';
import { categoryOf } from '../../eventstore/port.js';
import { changesSubject, type ChangeNotice } from '../../projections/runner/changes.js';
import { awaitReadModel } from './consistency.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice, type SubscriptionContext } from './context.js';

const typeDefs = /* GraphQL */ `
  "One event in the workspace's log: who did what to which stream, and when."
  type ActivityEvent {
    position: BigInt!
    eventId: ID!
    streamId: String!
    "The part of the stream id before the first '-': campaign, contact, segment, template, launch."
    category: String!
    eventType: String!
    revision: Int!
    actor: String!
    correlationId: String!
    commandId: String
    recordedAt: DateTime!
  }

  type ActivityEdge {
    cursor: String!
    node: ActivityEvent!
  }

  type ActivityConnection {
    edges: [ActivityEdge!]!
    pageInfo: PageInfo!
  }

  extend type Query {
    """
    The workspace's events, newest first. consistentWith: a position returned by a mutation; the answer then
    includes that mutation's events (read-your-writes).
    """
    activity(first: Int = 50, after: String, category: String, streamId: String, consistentWith: BigInt): ActivityConnection!
  }

  type Subscription {
    "The workspace's new events as the activity read model applies them (optionally of one category)."
    activityAppended(category: String): [ActivityEvent!]!
  }
`;

interface ActivityArgs {
  first: number;
  after?: string | null;
  category?: string | null;
  streamId?: string | null;
  consistentWith?: bigint | null;
}

const parsePositionCursor = (value: unknown): bigint | undefined =>
  typeof value === 'string' && /^\d+$/.test(value) ? BigInt(value) : undefined;

function activityNode(row: ActivityRow) {
  return {
    position: row.position,
    eventId: row.event_id,
    streamId: row.stream_id,
    category: row.category,
    eventType: row.event_type,
    revision: Number(row.revision),
    actor: row.actor,
    correlationId: row.correlation_id,
    commandId: row.command_id,
    recordedAt: row.recorded_at,
  };
}

export const activitySlice: GraphQLSlice = {
  name: 'activity',
  typeDefs,
  resolvers: {
    Query: {
      activity: async (_: unknown, args: ActivityArgs, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, 'activity', args.consistentWith);
        const page = await listActivity(ctx.deps.db, {
          workspaceId: principal.workspaceId,
          category: args.category,
          streamId: args.streamId,
          before: args.after == null ? null : decodeCursor(args.after, parsePositionCursor),
          limit: pageSize(args.first),
        });
        return toConnection(page.rows, page.hasNextPage, (row) => encodeCursor(row.position), activityNode);
      },
    },
    Subscription: {
      activityAppended: {
        subscribe: mercurius.withFilter(
          (_: unknown, __: unknown, ctx: SubscriptionContext) => {
            const principal = requirePermission(ctx, 'read');
            return ctx.pubsub.subscribe(changesSubject(ctx.deps.config.natsPrefix, 'activity', principal.workspaceId, '>'));
          },
          (notice: ChangeNotice, args: unknown) => {
            const category = (args as { category?: string | null }).category;
            return category == null || categoryOf(notice.streamId) === category;
          },
        ),
        resolve: async (notice: ChangeNotice, _: unknown, ctx: SubscriptionContext) => {
          const principal = requirePermission(ctx, 'read');
          const rows = await listActivityAt(ctx.deps.db, principal.workspaceId, notice.positions);
          return rows.map(activityNode);
        },
      },
    },
  },
};
