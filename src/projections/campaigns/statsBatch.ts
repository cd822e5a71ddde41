import { sql, type Transaction } from 'kysely';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import { COUNTER_OF, deliveryData, keepFirst, type DeliveryEventType } from './deliveryEvents.js';
import { WHOLE_CAMPAIGN, type StatsCounter } from './tables.js';

type Trx = Transaction<Database>;

/** What a launch appends, one per recipient, always naming the variant: counted by a run's statements below. */
const BULK_TYPES: ReadonlySet<string> = new Set<DeliveryEventType>(['EmailSent', 'EmailDelivered', 'EmailFailed', 'EmailRenderFailed']);

/** A bulk event, validated as `apply` validates it; `campaignId` lower-cased, as PostgreSQL prints a uuid. */
interface Delivery {
  readonly event: RecordedEvent;
  readonly campaignId: string;
  readonly workspaceId: string;
  readonly variantKey: string;
  readonly contactId: string;
  readonly at: string;
}

/**
 * The campaign stats projection's applyMany. Consecutive bulk events (BULK_TYPES with a string variantKey) form a
 * run, counted in at most three statements whatever its length; every other event (campaign rows, audiences,
 * winner rounds, opens and clicks, bounces and complaints, unsubscribes, deliveries without a variant) first ends
 * the run, then goes through `apply` as it would one by one.
 *
 * Per run, the same as `apply` of each of its events in turn, because within a run:
 * - which campaigns exist, and in which workspace, does not change (only CampaignCreated/VariantsDefined, not
 *   bulk, write that), so one workspace check serves the whole run;
 * - the counters are only added to, so their increments add up per row, and the row's updated_at is the last
 *   counted event's recordedAt;
 * - no bulk event reads campaign_engagement (they all name their variant), and of several EmailSent for one
 *   contact only the first can write its row (the later ones find sent_at set), so one INSERT of the first ones
 *   leaves the same rows.
 * Rows travel as one array parameter per column (unnest), so a run's length never meets the bind-parameter limit.
 */
export async function applyStatsEvents(trx: Trx, events: readonly RecordedEvent[], apply: (trx: Trx, event: RecordedEvent) => Promise<void>): Promise<void> {
  let run: RecordedEvent[] = [];
  for (const event of events) {
    if (isBulk(event)) {
      run.push(event);
      continue;
    }
    await countRun(trx, run);
    run = [];
    await apply(trx, event);
  }
  await countRun(trx, run);
}

function isBulk(event: RecordedEvent): boolean {
  return BULK_TYPES.has(event.type) && typeof (event.data as { variantKey?: unknown } | null)?.variantKey === 'string';
}

async function countRun(trx: Trx, run: readonly RecordedEvent[]): Promise<void> {
  if (run.length === 0) return;
  // deliveryData throws on an event `apply` would refuse: the runner then redoes the batch one by one and parks it.
  const deliveries = run.map((event): Delivery => {
    const data = deliveryData(event);
    return { event, campaignId: data.campaignId.toLowerCase(), workspaceId: event.metadata.workspaceId, variantKey: data.variantKey!, contactId: data.contactId, at: data.at };
  });
  const counted = await ofWorkspaceCampaigns(trx, deliveries);
  await markSent(trx, counted.filter((d) => d.event.type === 'EmailSent'));
  await bumpAll(trx, counted);
}

/** The deliveries whose campaign is their workspace's (isWorkspaceCampaign for each), in one SELECT. */
async function ofWorkspaceCampaigns(trx: Trx, deliveries: readonly Delivery[]): Promise<Delivery[]> {
  const key = (campaignId: string, workspaceId: string) => `${campaignId} ${workspaceId}`;
  const pairs = new Map(deliveries.map((d) => [key(d.campaignId, d.workspaceId), d]));
  const campaignIds = [...pairs.values()].map((d) => d.campaignId);
  const workspaceIds = [...pairs.values()].map((d) => d.workspaceId);
  const { rows } = await sql<{ campaign_id: string; workspace_id: string }>`
    SELECT s.campaign_id::text AS campaign_id, s.workspace_id
    FROM campaign_stats s JOIN unnest(${campaignIds}::uuid[], ${workspaceIds}::text[]) AS p(campaign_id, workspace_id)
      ON s.campaign_id = p.campaign_id AND s.workspace_id = p.workspace_id
    WHERE s.variant_key = ${WHOLE_CAMPAIGN}`.execute(trx);
  const theirs = new Set(rows.map((r) => key(r.campaign_id, r.workspace_id)));
  return deliveries.filter((d) => theirs.has(key(d.campaignId, d.workspaceId)));
}

/**
 * markEngagement('sent_at') for each send, in one INSERT: the first send per (campaign, contact), since a
 * multi-row ON CONFLICT DO UPDATE may not touch a row twice. The times of all of them are cast, as each send's
 * own INSERT would cast its time (a later duplicate with an unreadable time fails there too).
 */
async function markSent(trx: Trx, sends: readonly Delivery[]): Promise<void> {
  if (sends.length === 0) return;
  const column = <K extends keyof Delivery>(name: K) => sends.map((d) => d[name]);
  await trx
    .insertInto('campaign_engagement')
    .columns(['campaign_id', 'contact_id', 'workspace_id', 'variant_key', 'sent_at'])
    .expression(
      sql`(SELECT DISTINCT ON (campaign_id, contact_id) campaign_id, contact_id, workspace_id, variant_key, sent_at
        FROM unnest(${column('campaignId')}::uuid[], ${column('contactId')}::text[], ${column('workspaceId')}::text[], ${column('variantKey')}::text[], ${column('at')}::timestamptz[])
          WITH ORDINALITY AS e(campaign_id, contact_id, workspace_id, variant_key, sent_at, n)
        ORDER BY campaign_id, contact_id, n)`,
    )
    .onConflict(keepFirst('sent_at'))
    .execute();
}

/** bump for each delivery, added up per stats row: one UPDATE with one source row per row it changes. */
async function bumpAll(trx: Trx, deliveries: readonly Delivery[]): Promise<void> {
  const rows = new Map<string, { campaignId: string; variantKey: string; workspaceId: string; counts: Map<StatsCounter, number>; updatedAt: Date }>();
  for (const d of deliveries) {
    const counter = COUNTER_OF[d.event.type as DeliveryEventType];
    // The whole campaign's row and the variant's: once when the variant key is the whole campaign's ('').
    for (const variantKey of new Set([WHOLE_CAMPAIGN, d.variantKey])) {
      const id = `${d.campaignId} ${variantKey}`;
      const row = rows.get(id) ?? { campaignId: d.campaignId, variantKey, workspaceId: d.workspaceId, counts: new Map(), updatedAt: d.event.recordedAt };
      row.counts.set(counter, (row.counts.get(counter) ?? 0) + 1);
      row.updatedAt = d.event.recordedAt;
      rows.set(id, row);
    }
  }
  if (rows.size === 0) return;
  const targets = [...rows.values()];
  const counters = [...new Set([...BULK_TYPES].map((type) => COUNTER_OF[type as DeliveryEventType]))];
  const increments = counters.map((c) => sql`${sql.val(targets.map((r) => r.counts.get(c) ?? 0))}::int4[]`);
  await sql`
    UPDATE campaign_stats AS t
    SET ${sql.join(counters.map((c) => sql`${sql.ref(c)} = ${sql.ref(`t.${c}`)} + ${sql.ref(`s.${c}`)}`))}, updated_at = s.updated_at
    FROM unnest(
      ${targets.map((r) => r.campaignId)}::uuid[], ${targets.map((r) => r.variantKey)}::text[], ${targets.map((r) => r.workspaceId)}::text[],
      ${sql.join(increments)}, ${targets.map((r) => r.updatedAt.toISOString())}::timestamptz[]
    ) AS s(campaign_id, variant_key, workspace_id, ${sql.join(counters.map((c) => sql.ref(c)))}, updated_at)
    WHERE t.campaign_id = s.campaign_id AND t.variant_key = s.variant_key AND t.workspace_id = s.workspace_id`.execute(trx);
}
