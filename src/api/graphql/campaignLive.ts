import { coalesce } from '../../infra/async.js';
import { CAMPAIGNS_PROJECTION } from '../../projections/campaigns/projection.js';
import { findCampaign } from '../../projections/campaigns/queries.js';
import { CAMPAIGN_STATS_PROJECTION } from '../../projections/campaigns/stats.js';
import { changesSubject, type ChangeNotice } from '../../projections/runner/changes.js';
import { campaignNode } from './campaigns.js';
import { forgetRequestLoaders } from './requestLoader.js';
import { requirePermission, type GraphQLSlice, type SubscriptionContext } from './context.js';

/** During a launch the stats change with every recipient: one push per window at most. */
export const CAMPAIGN_UPDATE_WINDOW_MS = 250;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Does a change notice concern this campaign (its own stream, its launch, one of its recipients' streams)? */
function concerns(notice: ChangeNotice, campaignId: string): boolean {
  const id = notice.streamId;
  return id === `campaign-${campaignId}` || id === `launch-${campaignId}` || id.startsWith(`email-${campaignId}_`);
}

/**
 * Live dashboards: `campaignUpdated(id)` pushes the campaign (status, stats per campaign and variant) whenever
 * the campaigns or campaign-stats read model applied something about it — fed by NATS change notices, so any
 * API instance serves it.
 */
export const campaignLiveSlice: GraphQLSlice = {
  name: 'campaignLive',
  typeDefs: /* GraphQL */ `
    extend type Subscription {
      "The campaign with fresh status and stats whenever they change (at most every 250 ms)."
      campaignUpdated(id: ID!): Campaign
    }
  `,
  resolvers: {
    Subscription: {
      campaignUpdated: {
        subscribe: async function* (_: unknown, args: { id: string }, ctx: SubscriptionContext) {
          const principal = requirePermission(ctx, 'read');
          if (!UUID.test(args.id)) return;
          const id = args.id.toLowerCase();
          const prefix = ctx.deps.config.natsPrefix;
          const notices = (await ctx.pubsub.subscribe([
            changesSubject(prefix, CAMPAIGNS_PROJECTION, principal.workspaceId, `campaign-${id}`),
            changesSubject(prefix, CAMPAIGN_STATS_PROJECTION, principal.workspaceId, '>'),
          ])) as AsyncIterable<ChangeNotice>;
          for await (const _count of coalesce(notices, CAMPAIGN_UPDATE_WINDOW_MS, (n) => concerns(n, id))) yield { campaignId: id };
        },
        resolve: async (payload: { campaignId: string }, _: unknown, ctx: SubscriptionContext) => {
          const principal = requirePermission(ctx, 'read');
          forgetRequestLoaders(ctx);
          const row = await findCampaign(ctx.deps.db, principal.workspaceId, payload.campaignId);
          return row === undefined ? null : campaignNode(row);
        },
      },
    },
  },
};
