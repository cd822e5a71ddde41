import { isUuid } from '../../domain/templates/input.js';
import { CAMPAIGNS_PROJECTION } from '../../projections/campaigns/projection.js';
import { findCampaign, listCampaigns, statsOfCampaigns, type CampaignCursor } from '../../projections/campaigns/queries.js';
import { CAMPAIGN_STATS_PROJECTION } from '../../projections/campaigns/stats.js';
import { TEMPLATES_PROJECTION } from '../../projections/templates/projection.js';
import { STATS_COUNTERS, WHOLE_CAMPAIGN, type CampaignRow, type CampaignStatsRow, type CampaignStatusColumn } from '../../projections/campaigns/tables.js';
import { CAMPAIGN_COMMANDS } from '../commands/campaigns.js';
import type { CommandDefinition } from '../commands/catalog.js';
import { receipt, runCommand } from './commands.js';
import { awaitReadModel } from './consistency.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';
import { RequestLoader, requestLoader } from './requestLoader.js';
import { loadTemplate, templateNode } from './templates.js';

const COUNTER_FIELDS = /* GraphQL */ `
    audienceSize: Int! sent: Int! delivered: Int! opened: Int! uniqueOpens: Int! clicked: Int! uniqueClicks: Int!
    bounced: Int! complained: Int! unsubscribed: Int! failed: Int!
`;

const typeDefs = /* GraphQL */ `
  enum CampaignStatus { DRAFT SCHEDULED RUNNING PAUSED COMPLETED CANCELLED FAILED }

  enum WinnerMetric { OPEN_RATE CLICK_RATE }

  type Sender { email: String! name: String }

  type CampaignVariant {
    key: String!
    templateId: ID!
    templateVersion: Int!
    "Replaces the template's subject for this variant; null: the template's own."
    subject: String
    splitPercent: Int!
  }

  "An A/B test: testSamplePercent of the audience is split over the variants, the rest gets the winner."
  type CampaignVariants {
    variants: [CampaignVariant!]!
    testSamplePercent: Int!
    winnerMetric: WinnerMetric!
    "Null: the winner is picked by hand."
    winnerAfterHours: Int
  }

  type VariantMetricValue { key: String! value: Float! }

  type CampaignWinner {
    variantKey: String!
    "auto or manual"
    by: String!
    metric: WinnerMetric!
    "Each variant's metric when the winner was chosen."
    values: [VariantMetricValue!]!
    at: DateTime!
  }

  type VariantStats {
    key: String!
    ${COUNTER_FIELDS}
  }

  "Delivery and engagement counters; uniqueOpens and uniqueClicks count each contact once."
  type CampaignStats {
    ${COUNTER_FIELDS}
    variants: [VariantStats!]!
  }

  type Campaign {
    id: ID!
    name: String!
    status: CampaignStatus!
    sender: Sender
    replyTo: String
    segmentId: ID
    templateId: ID
    templateVersion: Int
    "The pinned template version."
    template: Template
    topic: String
    scheduledAt: DateTime
    timeZone: String
    variants: CampaignVariants
    winner: CampaignWinner
    "Why it was cancelled or failed."
    endReason: String
    createdAt: DateTime!
    updatedAt: DateTime!
    launchedAt: DateTime
    launchedBy: String
    completedAt: DateTime
    "Revision of the campaign's stream, for expectedRevision."
    revision: Int!
    stats: CampaignStats!
  }

  type CampaignEdge { cursor: String! node: Campaign! }

  type CampaignConnection { edges: [CampaignEdge!]! pageInfo: PageInfo! }

  "After: inclusive; before: exclusive."
  input CampaignFilter { status: CampaignStatus createdAfter: DateTime createdBefore: DateTime scheduledAfter: DateTime scheduledBefore: DateTime }

  input SenderInput { email: String! name: String }

  input CreateCampaignInput {
    "Optional; derived from the commandId when absent."
    campaignId: ID
    name: String!
    sender: SenderInput
    replyTo: String
    segmentId: ID
    templateId: ID
    "Default: the template's current version."
    templateVersion: Int
    "The consent topic recipients must be subscribed to."
    topic: String
  }

  "Absent fields stay as they are; null clears one. Audience and content are frozen once launched."
  input UpdateCampaignInput {
    campaignId: ID!
    name: String
    sender: SenderInput
    replyTo: String
    segmentId: ID
    templateId: ID
    templateVersion: Int
    topic: String
    expectedRevision: Int
  }

  input CampaignVariantInput { key: String! templateId: ID! templateVersion: Int subject: String splitPercent: Int! }

  input DefineCampaignVariantsInput {
    campaignId: ID!
    "2 to 5, splitPercent summing to 100."
    variants: [CampaignVariantInput!]!
    testSamplePercent: Int!
    winnerMetric: WinnerMetric!
    winnerAfterHours: Int
    expectedRevision: Int
  }

  input ScheduleCampaignInput {
    campaignId: ID!
    "ISO 8601 with an offset (2025-03-01T09:00:00Z), or a wall-clock time without one (2025-03-01T09:00) in timeZone."
    at: String!
    "IANA name, default UTC."
    timeZone: String
    expectedRevision: Int
  }

  input CampaignActionInput { campaignId: ID! expectedRevision: Int }

  input CampaignActionWithReasonInput { campaignId: ID! reason: String expectedRevision: Int }

  input ChooseCampaignWinnerInput { campaignId: ID! variantKey: String! expectedRevision: Int }

  type CampaignPayload { receipt: CommandReceipt! campaignId: ID! }

  extend type Query {
    "Newest first. consistentWith: a position returned by a mutation (read-your-writes)."
    campaigns(first: Int = 50, after: String, filter: CampaignFilter, consistentWith: BigInt): CampaignConnection!
    "Null when the workspace has no such campaign."
    campaign(id: ID!, consistentWith: BigInt): Campaign
  }

  extend type Mutation {
    createCampaign(input: CreateCampaignInput!, commandId: String): CampaignPayload!
    updateCampaign(input: UpdateCampaignInput!, commandId: String): CampaignPayload!
    defineCampaignVariants(input: DefineCampaignVariantsInput!, commandId: String): CampaignPayload!
    "Needs a segment, a template (or variants) and a sender; the time must be in the future."
    scheduleCampaign(input: ScheduleCampaignInput!, commandId: String): CampaignPayload!
    unscheduleCampaign(input: CampaignActionInput!, commandId: String): CampaignPayload!
    "Starts sending now (from draft or scheduled)."
    launchCampaign(input: CampaignActionInput!, commandId: String): CampaignPayload!
    pauseCampaign(input: CampaignActionWithReasonInput!, commandId: String): CampaignPayload!
    resumeCampaign(input: CampaignActionInput!, commandId: String): CampaignPayload!
    cancelCampaign(input: CampaignActionWithReasonInput!, commandId: String): CampaignPayload!
    chooseCampaignWinner(input: ChooseCampaignWinnerInput!, commandId: String): CampaignPayload!
  }
`;

interface CampaignNode {
  readonly id: string;
  readonly workspaceId: string;
  readonly templateId: string | null;
  readonly templateVersion: number | null;
  readonly [field: string]: unknown;
}

const upper = (value: string): string => value.toUpperCase();

export function campaignNode(row: CampaignRow): CampaignNode {
  const { variants, winner } = row;
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    status: upper(row.status),
    sender: row.sender_email === null ? null : { email: row.sender_email, name: row.sender_name },
    replyTo: row.reply_to,
    segmentId: row.segment_id,
    templateId: row.template_id,
    templateVersion: row.template_version,
    topic: row.topic,
    scheduledAt: row.scheduled_at,
    timeZone: row.time_zone,
    variants: variants === null ? null : { ...variants, winnerMetric: upper(variants.winnerMetric) },
    winner: winner === null ? null : { ...winner, metric: upper(winner.metric), values: Object.entries(winner.values).map(([key, value]) => ({ key, value })) },
    endReason: row.end_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    launchedAt: row.launched_at,
    launchedBy: row.launched_by,
    completedAt: row.completed_at,
    revision: row.revision,
  };
}

const camel = (column: string): string => column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

function counters(row: CampaignStatsRow | undefined): Record<string, number> {
  return Object.fromEntries(STATS_COUNTERS.map((c) => [camel(c), row?.[c] ?? 0]));
}

/** A campaign's stats rows; one query per request for all campaigns shown (no N+1). */
function loadStats(ctx: GraphQLContext, campaign: CampaignNode): Promise<CampaignStatsRow[] | undefined> {
  const loader = requestLoader(ctx, `campaignStats:${campaign.workspaceId}`, () => {
    return new RequestLoader<string, CampaignStatsRow[]>(
      (id) => id,
      async (ids) => {
        const byCampaign = new Map<string, CampaignStatsRow[]>();
        for (const row of await statsOfCampaigns(ctx.deps.db, campaign.workspaceId, ids)) byCampaign.set(row.campaign_id, [...(byCampaign.get(row.campaign_id) ?? []), row]);
        return byCampaign;
      },
    );
  });
  return loader.load(campaign.id);
}

function parseCampaignCursor(value: unknown): CampaignCursor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { c, id } = value as { c?: unknown; id?: unknown };
  const createdAt = typeof c === 'string' ? new Date(c) : undefined;
  return createdAt !== undefined && !Number.isNaN(createdAt.getTime()) && isUuid(id) ? { createdAt, id } : undefined;
}

/** Read-your-writes over every read model a campaign is answered from (its row, its stats, its template). */
async function awaitCampaignModels(ctx: GraphQLContext, position: bigint | null | undefined): Promise<void> {
  for (const projection of [CAMPAIGNS_PROJECTION, CAMPAIGN_STATS_PROJECTION, TEMPLATES_PROJECTION]) await awaitReadModel(ctx, projection, position);
}

interface CampaignsArgs {
  first: number;
  after?: string | null;
  filter?: { status?: string | null; createdAfter?: Date | null; createdBefore?: Date | null; scheduledAfter?: Date | null; scheduledBefore?: Date | null } | null;
  consistentWith?: bigint | null;
}

function mutation<Input>(definition: CommandDefinition<Input>) {
  return async (_: unknown, args: { input: unknown; commandId?: string | null }, ctx: GraphQLContext) => {
    const outcome = await runCommand(ctx, definition, args.input, args.commandId);
    return { receipt: receipt(outcome), campaignId: outcome.data?.campaignId };
  };
}

export const campaignsSlice: GraphQLSlice = {
  name: 'campaigns',
  typeDefs,
  resolvers: {
    Query: {
      campaigns: async (_: unknown, args: CampaignsArgs, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitCampaignModels(ctx, args.consistentWith);
        const filter = args.filter ?? {};
        const page = await listCampaigns(
          ctx.deps.db,
          { ...filter, workspaceId: principal.workspaceId, status: filter.status == null ? null : (filter.status.toLowerCase() as CampaignStatusColumn) },
          { after: args.after == null ? null : decodeCursor(args.after, parseCampaignCursor), limit: pageSize(args.first) },
        );
        return toConnection(page.rows, page.hasNextPage, (row) => encodeCursor({ c: row.created_at.toISOString(), id: row.id }), campaignNode);
      },
      campaign: async (_: unknown, args: { id: string; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitCampaignModels(ctx, args.consistentWith);
        if (!isUuid(args.id)) return null;
        const row = await findCampaign(ctx.deps.db, principal.workspaceId, args.id.toLowerCase());
        return row === undefined ? null : campaignNode(row);
      },
    },
    Campaign: {
      template: async (campaign: CampaignNode, _: unknown, ctx: GraphQLContext) => {
        if (campaign.templateId === null) return null;
        const row = await loadTemplate(ctx, campaign.workspaceId, campaign.templateId);
        return row === undefined ? null : templateNode(row, campaign.templateVersion ?? row.current_version);
      },
      stats: async (campaign: CampaignNode, _: unknown, ctx: GraphQLContext) => {
        const rows = (await loadStats(ctx, campaign)) ?? [];
        const variants = rows.filter((r) => r.variant_key !== WHOLE_CAMPAIGN).map((r) => ({ key: r.variant_key, ...counters(r) }));
        return { ...counters(rows.find((r) => r.variant_key === WHOLE_CAMPAIGN)), variants };
      },
    },
    Mutation: {
      createCampaign: mutation(CAMPAIGN_COMMANDS.CreateCampaign),
      updateCampaign: mutation(CAMPAIGN_COMMANDS.UpdateCampaign),
      defineCampaignVariants: mutation(CAMPAIGN_COMMANDS.DefineCampaignVariants),
      scheduleCampaign: mutation(CAMPAIGN_COMMANDS.ScheduleCampaign),
      unscheduleCampaign: mutation(CAMPAIGN_COMMANDS.UnscheduleCampaign),
      launchCampaign: mutation(CAMPAIGN_COMMANDS.LaunchCampaign),
      pauseCampaign: mutation(CAMPAIGN_COMMANDS.PauseCampaign),
      resumeCampaign: mutation(CAMPAIGN_COMMANDS.ResumeCampaign),
      cancelCampaign: mutation(CAMPAIGN_COMMANDS.CancelCampaign),
      chooseCampaignWinner: mutation(CAMPAIGN_COMMANDS.ChooseCampaignWinner),
    },
  },
};
