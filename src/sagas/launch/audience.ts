import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { AudienceHasher, sampleSizeOf, variantAt, variantSizes } from '../../domain/launches/audience.js';
import { HOLDOUT_VARIANT_KEY, type AudienceExclusions, type LaunchVariant } from '../../domain/launches/events.js';
import type { Database } from '../../projections/db/schema.js';
import { messageIdFor, senderDomainOf } from '../delivery/identifiers.js';
import { DeliveryLedger, type Recipient } from '../delivery/ledger.js';
import { StepTimeoutError } from './timeouts.js';

/**
 * Audience extraction: the campaign's segment evaluated at launch time from the segment membership read model
 * joined with the contacts read model, split over the variants, and frozen into the delivery ledger (the ledger
 * IS the stored audience). One REPEATABLE READ transaction: the counts, the rows and the fingerprint all see the
 * same snapshot, and a crash or timeout leaves no partial audience behind. Memory stays constant: the audience
 * streams through server-side cursors in chunks.
 *
 * With an A/B test phase (`samplePercent`), the first sampleSizeOf(...) ranks of the md5 order are the test sample,
 * split over the variants; the other ranks are the holdout: rows with variant HOLDOUT_VARIANT_KEY and status
 * 'held', which no worker claims until the winner is known (testPhase.ts gives them the winner's variant).
 */

export interface FreezeRequest {
  readonly workspaceId: string;
  readonly campaignId: string;
  readonly segmentId: string;
  readonly topic: string | null;
  readonly senderEmail: string;
  readonly variants: readonly LaunchVariant[];
  /** The A/B test sample's share of the audience; absent or null: no test phase (everyone is sent at once). */
  readonly samplePercent?: number | null;
  /** The whole step: each SQL statement, and the sum of all of them (checked between chunks). */
  readonly timeoutMs: number;
  readonly chunkSize?: number;
}

export interface FrozenAudienceResult {
  readonly size: number;
  /** Per variant; null for a single-variant campaign. */
  readonly variantSizes: Readonly<Record<string, number>> | null;
  readonly hash: string;
  readonly excluded: AudienceExclusions;
  /** With a test phase only: the sample (split over the variants) and the holdout (held for the winner). */
  readonly sampleSize?: number;
  readonly holdoutSize?: number;
}

/** The campaign's ledger already holds rows that went past pending: it is not ours to overwrite. */
export class AudienceAlreadyDeliveringError extends Error {
  readonly code = 'AUDIENCE_ALREADY_DELIVERING';
  constructor(readonly campaignId: string, readonly rows: number) {
    super(`The delivery ledger of campaign ${campaignId} already has ${rows} rows past pending; refusing to freeze a new audience over them`);
    this.name = 'AudienceAlreadyDeliveringError';
  }
}

const CHUNK = 1_000;

/**
 * `members`: every contact of the segment with why it is excluded (null: eligible); `eligible`: the eligible
 * ones, numbered within each normalized email (copy 1 is kept, the lowest contact id).
 */
function audienceQuery(request: FreezeRequest): RawBuilder<unknown> {
  const { workspaceId, segmentId, topic } = request;
  return sql`
    WITH members AS (
      SELECT c.id::text AS contact_id, c.email,
        CASE
          WHEN c.status <> 'active' THEN 'merged'
          WHEN c.suppressed THEN 'suppressed'
          WHEN NOT EXISTS (
            SELECT 1 FROM contact_consents cc
            WHERE cc.contact_id = c.id AND cc.status = 'subscribed' AND (${topic}::text IS NULL OR cc.topic = ${topic}::text)
          ) THEN 'unsubscribed'
        END AS excluded
      FROM segment_memberships m
      JOIN contacts c ON c.id::text = m.contact_id AND c.workspace_id = m.workspace_id
      WHERE m.workspace_id = ${workspaceId} AND m.segment_id = ${segmentId}
    ),
    eligible AS (
      SELECT contact_id, email, row_number() OVER (PARTITION BY email ORDER BY contact_id COLLATE "C") AS copy
      FROM members WHERE excluded IS NULL
    )`;
}

export async function freezeAudience(db: Kysely<Database>, request: FreezeRequest): Promise<FrozenAudienceResult> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      await sql`SELECT set_config('statement_timeout', ${String(request.timeoutMs)}, true)`.execute(trx);
      const deadline = Date.now() + request.timeoutMs;
      await clearLeftovers(trx, request.campaignId);
      const counts = await countAudience(trx, request);
      const excluded = { unsubscribed: counts.unsubscribed, suppressed: counts.suppressed, merged: counts.merged, duplicateEmail: counts.duplicateEmail };
      if (counts.audience === 0) return { size: 0, variantSizes: null, hash: new AudienceHasher().digest(), excluded };
      const sample = sampleSizeOf(counts.audience, request.samplePercent ?? null, request.variants.length);
      await enqueueAudience(trx, request, counts.audience, sample, { deadline, timeoutMs: request.timeoutMs });
      const hash = await fingerprint(trx, request.campaignId, counts.audience, { deadline, timeoutMs: request.timeoutMs });
      const sizes = request.variants.length > 1 ? variantSizes(sample, request.variants) : null;
      const split = request.samplePercent == null ? {} : { sampleSize: sample, holdoutSize: counts.audience - sample };
      return { size: counts.audience, variantSizes: sizes, hash, excluded, ...split };
    });
}

/** Rows of an earlier attempt that never left pending or held (a compensated launch whose release was cut short). */
async function clearLeftovers(trx: Transaction<Database>, campaignId: string): Promise<void> {
  const moved = await trx
    .selectFrom('delivery_ledger')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('campaign_id', '=', campaignId)
    .where('status', 'not in', ['pending', 'held'])
    .executeTakeFirstOrThrow();
  if (Number(moved.n) > 0) throw new AudienceAlreadyDeliveringError(campaignId, Number(moved.n));
  await trx.deleteFrom('delivery_ledger').where('campaign_id', '=', campaignId).execute();
}

interface AudienceCounts extends AudienceExclusions {
  readonly audience: number;
}

async function countAudience(trx: Transaction<Database>, request: FreezeRequest): Promise<AudienceCounts> {
  const result = await sql<Record<keyof AudienceCounts, string>>`
    ${audienceQuery(request)}
    SELECT
      (SELECT count(*) FROM members WHERE excluded = 'unsubscribed') AS unsubscribed,
      (SELECT count(*) FROM members WHERE excluded = 'suppressed') AS suppressed,
      (SELECT count(*) FROM members WHERE excluded = 'merged') AS merged,
      (SELECT count(*) FROM eligible WHERE copy > 1) AS "duplicateEmail",
      (SELECT count(*) FROM eligible WHERE copy = 1) AS audience`.execute(trx);
  const row = result.rows[0]!;
  return { unsubscribed: Number(row.unsubscribed), suppressed: Number(row.suppressed), merged: Number(row.merged), duplicateEmail: Number(row.duplicateEmail), audience: Number(row.audience) };
}

/**
 * Streams the eligible contacts in hash order (md5 of campaign and contact) and enqueues them with their variant:
 * the first `sample` ranks split over the variants, the rest held back as the holdout.
 */
async function enqueueAudience(trx: Transaction<Database>, request: FreezeRequest, total: number, sample: number, deadline: Deadline): Promise<void> {
  const { campaignId, workspaceId, variants } = request;
  const domain = senderDomainOf(request.senderEmail);
  const ledger = new DeliveryLedger(trx);
  const chunk = request.chunkSize ?? CHUNK;
  await sql`
    DECLARE launch_audience NO SCROLL CURSOR FOR
    ${audienceQuery(request)}
    SELECT contact_id, email FROM eligible WHERE copy = 1
    ORDER BY md5(${campaignId}::text || ':' || contact_id), contact_id COLLATE "C"`.execute(trx);
  let rank = 0;
  for (;;) {
    const page = await sql<{ contact_id: string; email: string }>`FETCH ${sql.raw(String(chunk))} FROM launch_audience`.execute(trx);
    if (page.rows.length === 0) break;
    checkDeadline(deadline);
    const recipients: Recipient[] = page.rows.map((row) => {
      const at = rank++;
      const variantKey = at < sample ? variantAt(at, sample, variants).key : HOLDOUT_VARIANT_KEY;
      return { workspaceId, campaignId, variantKey, contactId: row.contact_id, email: row.email, messageId: messageIdFor(campaignId, variantKey, row.contact_id, domain) };
    });
    await ledger.enqueue(recipients);
  }
  await sql`CLOSE launch_audience`.execute(trx);
  // Inside the freeze's transaction: no worker ever sees a holdout row as pending.
  if (sample < total) await trx.updateTable('delivery_ledger').set({ status: 'held' }).where('campaign_id', '=', campaignId).where('variant_key', '=', HOLDOUT_VARIANT_KEY).execute();
  if (rank !== total) throw new Error(`Audience of campaign ${campaignId} changed while it was frozen (${rank} rows, ${total} counted)`);
}

/** The fingerprint of what the ledger now holds, read back in contact id order. */
async function fingerprint(trx: Transaction<Database>, campaignId: string, expected: number, deadline: Deadline): Promise<string> {
  const hasher = new AudienceHasher();
  await sql`
    DECLARE launch_audience_hash NO SCROLL CURSOR FOR
    SELECT contact_id, variant_key FROM delivery_ledger WHERE campaign_id = ${campaignId} ORDER BY contact_id COLLATE "C"`.execute(trx);
  for (;;) {
    const page = await sql<{ contact_id: string; variant_key: string }>`FETCH ${sql.raw(String(CHUNK))} FROM launch_audience_hash`.execute(trx);
    if (page.rows.length === 0) break;
    checkDeadline(deadline);
    for (const row of page.rows) hasher.add(row.contact_id, row.variant_key);
  }
  await sql`CLOSE launch_audience_hash`.execute(trx);
  if (hasher.count !== expected) throw new Error(`The ledger of campaign ${campaignId} holds ${hasher.count} rows, ${expected} were frozen (another writer?)`);
  return hasher.digest();
}

interface Deadline {
  readonly deadline: number;
  readonly timeoutMs: number;
}

/** Rolls the freeze back (by throwing inside its transaction) once its time is up. */
function checkDeadline({ deadline, timeoutMs }: Deadline): void {
  if (Date.now() > deadline) throw new StepTimeoutError('audience extraction', timeoutMs);
}
