import type { Kysely } from 'kysely';
import type { CampaignVariants } from '../../domain/campaigns/events.js';
import { hitsOf, type VariantResult } from '../../domain/campaigns/winner.js';
import type { Database } from '../db/schema.js';
import { statsOfCampaigns } from './queries.js';

/**
 * Each variant's test-sample result from the campaign stats read model, in the campaign's variant order (what
 * pickWinner expects): emails sent (the denominator: every sample email the provider accepted; delivery
 * receipts are optional, sends are not) and unique opens or unique clicks (the winner metric's numerator). Read
 * before the winner round starts, these are the sample's alone. A variant the read model has not counted yet is 0.
 */
export async function variantResults(db: Kysely<Database>, workspaceId: string, campaignId: string, definition: CampaignVariants): Promise<VariantResult[]> {
  const rows = new Map((await statsOfCampaigns(db, workspaceId, [campaignId])).map((row) => [row.variant_key, row]));
  return definition.variants.map(({ key }) => {
    const row = rows.get(key);
    return { key, sent: row?.sent ?? 0, hits: row === undefined ? 0 : hitsOf(definition.winnerMetric, row) };
  });
}
