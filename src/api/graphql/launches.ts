import { isUuid } from '../../domain/templates/input.js';
import { findLaunch, type LaunchView, type TestPhaseView } from '../../sagas/launch/queries.js';
import { ResendToFailed } from '../commands/launches.js';
import { receipt, runCommand } from './commands.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';

const typeDefs = /* GraphQL */ `
  "TESTING: an A/B test's sample is sent and its holdout waits for the winner."
  enum LaunchStatus { STARTED FROZEN DELIVERING TESTING PAUSED COMPLETED CANCELLED COMPENSATED FAILED }

  enum LaunchPauser { USER CIRCUIT RENDER_FAILURES }

  "The delivery ledger's rows of the launch, by where they are now."
  type LaunchLedgerCounts {
    total: Int!
    "An A/B test's holdout, waiting for the winner (never sent before it is known)."
    held: Int!
    pending: Int!
    sending: Int!
    sent: Int!
    failed: Int!
    renderFailed: Int!
    "Accepted or not, nobody can tell (never resent automatically)."
    unknown: Int!
  }

  "The counts recorded when the launch (or its last send round) ended."
  type LaunchFinalCounts { audience: Int! sent: Int! failed: Int! renderFailed: Int! unknown: Int! cancelled: Int! }

  "Segment members left out when the audience was frozen."
  type AudienceExclusions { unsubscribed: Int! suppressed: Int! merged: Int! duplicateEmail: Int! }

  type VariantSize { key: String! size: Int! }

  type LaunchPause { by: LaunchPauser! reason: String at: DateTime! }

  "An A/B test phase: the sample is split over the variants and sent first; the holdout then receives the winner."
  type LaunchTestPhase {
    samplePercent: Int!
    winnerMetric: WinnerMetric!
    "Null: the winner is picked by hand (chooseCampaignWinner)."
    winnerAfterHours: Int
    "Recipients in the test sample; null until the audience is frozen."
    sampleSize: Int
    "Recipients held back for the winner; null until the audience is frozen."
    holdoutSize: Int
    "When every sample email was settled; null before."
    sampleSentAt: DateTime
    "When the winner is chosen automatically (sample sent + winnerAfterHours); null when picked by hand or not yet known."
    decideAt: DateTime
    "The winner with each variant's metric value when it was chosen; null until then."
    winner: CampaignWinner
    "When the holdout started receiving the winner; null before."
    winnerRoundStartedAt: DateTime
  }

  "A campaign's send, from the launch saga's stream (status) and the delivery ledger (counts)."
  type Launch {
    campaignId: ID!
    status: LaunchStatus!
    "1 for the first send (an A/B test's sample); +1 for the winner round and for each resend to failed recipients (0 before delivery started)."
    round: Int!
    startedAt: DateTime!
    "Null until the audience is frozen."
    audienceSize: Int
    "sha256 of the frozen audience (contactId:variant lines, sorted)."
    audienceHash: String
    variantSizes: [VariantSize!]
    excluded: AudienceExclusions
    pause: LaunchPause
    pauseReason: String
    "Why it was compensated, cancelled or failed."
    endReason: String
    counts: LaunchLedgerCounts!
    finalCounts: LaunchFinalCounts
    "Null for a launch without an A/B test phase."
    testPhase: LaunchTestPhase
  }

  input ResendToFailedInput { campaignId: ID! }

  type ResendToFailedPayload { receipt: CommandReceipt! campaignId: ID! round: Int! count: Int! }

  extend type Query {
    "Null when the workspace has no launch of this campaign."
    launch(campaignId: ID!): Launch
  }

  extend type Mutation {
    "Sends a completed launch again to the recipients whose delivery failed (a new send round)."
    resendToFailed(input: ResendToFailedInput!, commandId: String): ResendToFailedPayload!
  }
`;

function launchNode(view: LaunchView) {
  return {
    campaignId: view.campaignId,
    status: view.status.toUpperCase(),
    round: view.round,
    startedAt: view.startedAt,
    audienceSize: view.audienceSize,
    audienceHash: view.audienceHash,
    variantSizes: view.variantSizes === null ? null : Object.entries(view.variantSizes).map(([key, size]) => ({ key, size })),
    excluded: view.excluded,
    pause: view.pause === null ? null : { ...view.pause, by: view.pause.by.toUpperCase() },
    pauseReason: view.pause?.reason ?? null,
    endReason: view.endReason,
    counts: view.ledger,
    finalCounts: view.finalCounts,
    testPhase: view.testPhase === null ? null : testPhaseNode(view.testPhase),
  };
}

function testPhaseNode(test: TestPhaseView) {
  const { winner } = test;
  return {
    ...test,
    winnerMetric: test.winnerMetric.toUpperCase(),
    winner: winner === null ? null : { ...winner, metric: winner.metric.toUpperCase(), values: Object.entries(winner.values).map(([key, value]) => ({ key, value })) },
  };
}

export const launchesSlice: GraphQLSlice = {
  name: 'launches',
  typeDefs,
  resolvers: {
    Query: {
      launch: async (_: unknown, args: { campaignId: string }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        if (!isUuid(args.campaignId)) return null;
        const view = await findLaunch(ctx.deps.eventStore, ctx.deps.db, principal.workspaceId, args.campaignId.toLowerCase());
        return view === null ? null : launchNode(view);
      },
    },
    Mutation: {
      resendToFailed: async (_: unknown, args: { input: unknown; commandId?: string | null }, ctx: GraphQLContext) => {
        const outcome = await runCommand(ctx, ResendToFailed, args.input, args.commandId);
        return { receipt: receipt(outcome), campaignId: outcome.data?.campaignId, round: outcome.data?.round, count: outcome.data?.count };
      },
    },
  },
};
