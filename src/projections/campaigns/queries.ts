import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Database } from '../db/schema.js';
import type { CampaignRow, CampaignStatsRow, CampaignStatusColumn } from './tables.js';

export interface CampaignFilter {
  readonly workspaceId: string;
  readonly status?: CampaignStatusColumn | null;
  readonly createdAfter?: Date | null;
  readonly createdBefore?: Date | null;
  readonly scheduledAfter?: Date | null;
  readonly scheduledBefore?: Date | null;
}

export interface CampaignCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** Newest first (created_at, id descending), one page plus one row to tell whether there is a next page. */
export async function listCampaigns(
  db: Kysely<Database>,
  filter: CampaignFilter,
  page: { readonly after: CampaignCursor | null; readonly limit: number },
): Promise<{ rows: CampaignRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('campaigns').selectAll().where('workspace_id', '=', filter.workspaceId);
  if (filter.status != null) query = query.where('status', '=', filter.status);
  if (filter.createdAfter != null) query = query.where('created_at', '>=', filter.createdAfter);
  if (filter.createdBefore != null) query = query.where('created_at', '<', filter.createdBefore);
  if (filter.scheduledAfter != null) query = query.where('scheduled_at', '>=', filter.scheduledAfter);
  if (filter.scheduledBefore != null) query = query.where('scheduled_at', '<', filter.scheduledBefore);
  if (page.after !== null) query = query.where(sql<SqlBool>`(created_at, id) < (${page.after.createdAt}, ${page.after.id}::uuid)`);
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  return { rows: rows.slice(0, page.limit), hasNextPage: rows.length > page.limit };
}

export function findCampaign(db: Kysely<Database>, workspaceId: string, campaignId: string): Promise<CampaignRow | undefined> {
  return db.selectFrom('campaigns').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', campaignId).executeTakeFirst();
}

/** Stats rows (whole campaign and variants) of many campaigns in one query: the campaign → stats loader. */
export async function statsOfCampaigns(db: Kysely<Database>, workspaceId: string, campaignIds: readonly string[]): Promise<CampaignStatsRow[]> {
  if (campaignIds.length === 0) return [];
  return db
    .selectFrom('campaign_stats')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('campaign_id', 'in', campaignIds)
    .orderBy('campaign_id')
    .orderBy('variant_key')
    .execute();
}

export interface DueCampaign {
  readonly id: string;
  readonly workspaceId: string;
  readonly scheduledAt: Date;
  readonly scheduledRevision: number;
}

/**
 * Scheduled campaigns whose time has come, across workspaces, earliest first. `exclude`: schedules
 * (`<campaignId>:<scheduledRevision>`) the caller has just handled and whose rows may still lag behind.
 */
export async function dueCampaigns(db: Kysely<Database>, now: Date, limit: number, exclude: readonly string[] = []): Promise<DueCampaign[]> {
  let query = db
    .selectFrom('campaigns')
    .select(['id', 'workspace_id', 'scheduled_at', 'scheduled_revision'])
    .where('status', '=', 'scheduled')
    .where('scheduled_at', '<=', now);
  if (exclude.length > 0) query = query.where(sql<SqlBool>`NOT (id::text || ':' || scheduled_revision = ANY(${[...exclude]}::text[]))`);
  const rows = await query.orderBy('scheduled_at').limit(limit).execute();
  return rows.flatMap((r) =>
    r.scheduled_at === null || r.scheduled_revision === null ? [] : [{ id: r.id, workspaceId: r.workspace_id, scheduledAt: r.scheduled_at, scheduledRevision: r.scheduled_revision }],
  );
}
