import { PROJECTIONS } from '../../projections/index.js';
import { listParkedEvents } from '../../projections/runner/queries.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';
import { pageSize } from './connection.js';

const typeDefs = /* GraphQL */ `
  "How far a read model has applied the global log."
  type ProjectionStatus {
    name: String!
    "Position of the last event applied; null before the first."
    checkpoint: BigInt
    "Events in the store that the read model has not applied yet."
    lag: BigInt!
    updatedAt: DateTime
  }

  "An event a projection could not apply; it was set aside with its error and the projection went on."
  type ParkedEvent {
    id: ID!
    projection: String!
    position: BigInt!
    eventId: ID!
    streamId: String!
    eventType: String!
    error: String!
    parkedAt: DateTime!
  }

  extend type Query {
    "Admin only."
    projections: [ProjectionStatus!]!
    "Events of this workspace that a projection parked, newest first. Admin only."
    parkedEvents(projection: String, first: Int = 50): [ParkedEvent!]!
  }
`;

export const operationsSlice: GraphQLSlice = {
  name: 'operations',
  typeDefs,
  resolvers: {
    Query: {
      projections: async (_: unknown, __: unknown, ctx: GraphQLContext) => {
        requirePermission(ctx, 'admin');
        const [head, rows] = await Promise.all([
          ctx.deps.eventStore.headPosition(),
          ctx.deps.db.selectFrom('projection_checkpoints').selectAll().execute(),
        ]);
        return PROJECTIONS.map(({ name }) => {
          const row = rows.find((r) => r.projection === name);
          const checkpoint = row === undefined || row.position === '0' ? null : BigInt(row.position);
          const lag = head === null ? 0n : head - (checkpoint ?? 0n);
          return { name, checkpoint, lag: lag < 0n ? 0n : lag, updatedAt: row?.updated_at ?? null };
        });
      },
      parkedEvents: async (_: unknown, args: { projection?: string | null; first: number }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'admin');
        const rows = await listParkedEvents(ctx.deps.db, { projection: args.projection, workspaceId: principal.workspaceId, limit: pageSize(args.first) });
        return rows.map((r) => ({
          id: String(r.id),
          projection: r.projection,
          position: r.position,
          eventId: r.event_id,
          streamId: r.stream_id,
          eventType: r.event_type,
          error: r.error,
          parkedAt: r.parked_at,
        }));
      },
    },
  },
};
