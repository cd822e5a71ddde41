import { sql, type Kysely } from 'kysely';
import { contactValues } from '../../domain/templates/sample.js';
import type { AttributeValue } from '../../domain/contacts/events.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import type { EmailSender } from '../delivery/smtpSender.js';
import { SINGLE_VARIANT_KEY } from '../../domain/launches/events.js';
import { loadVariantContents, MissingTemplateVersionError, renderEmail, type RenderSettings, type VariantContent } from './rendering.js';
import { StepTimeoutError, withTimeout } from './timeouts.js';
import type { LaunchPlan } from './workflow.js';

/**
 * Preflight, before anything is written for the launch: the segment exists and is not deleted, every variant's
 * pinned template version renders against a sample contact (with real tracking links), and the SMTP provider
 * answers. A failure here is a reason to compensate; an infrastructure error (the event store or the database
 * not answering) is thrown instead, and the step is retried.
 */

export const NO_SMTP_PROVIDER = 'no SMTP provider configured';

export type PreflightOutcome = { readonly ok: true; readonly contents: Map<string, VariantContent> } | { readonly ok: false; readonly reason: string };

export interface PreflightDeps {
  readonly eventStore: EventStore;
  readonly db: Kysely<Database>;
  readonly sender: EmailSender | null;
  readonly render: RenderSettings;
  readonly timeoutMs: number;
}

export async function preflight(deps: PreflightDeps, plan: LaunchPlan, workspaceId: string): Promise<PreflightOutcome> {
  if (deps.sender === null) return { ok: false, reason: NO_SMTP_PROVIDER };
  const segment = await segmentProblem(deps.eventStore, workspaceId, plan.segmentId);
  if (segment !== null) return { ok: false, reason: segment };

  let contents: Map<string, VariantContent>;
  try {
    contents = await loadVariantContents(deps.eventStore, workspaceId, plan.variants);
  } catch (error) {
    if (error instanceof MissingTemplateVersionError) return { ok: false, reason: error.message };
    throw error;
  }
  const sample = await sampleContact(deps.db, workspaceId, plan.segmentId);
  for (const variant of contents.values()) {
    const to = { workspaceId, campaignId: plan.campaignId, variantKey: variant.variant.key, contactId: sample.contactId, email: String(sample.values.email) };
    try {
      renderEmail(plan, variant, to, sample.values, deps.render);
    } catch (error) {
      const name = variant.variant.key === SINGLE_VARIANT_KEY ? '' : ` (variant ${variant.variant.key})`;
      return { ok: false, reason: `template ${variant.variant.templateId} version ${variant.variant.templateVersion}${name} does not render: ${messageOf(error)}` };
    }
  }

  try {
    await withTimeout(deps.sender.verify(), deps.timeoutMs, 'SMTP verify');
  } catch (error) {
    const why = error instanceof StepTimeoutError ? `did not answer within ${deps.timeoutMs} ms` : messageOf(error);
    return { ok: false, reason: `SMTP provider unavailable: ${why}` };
  }
  return { ok: true, contents };
}

/** Why the segment cannot be sent to, from its stream (the truth), or null. */
async function segmentProblem(eventStore: EventStore, workspaceId: string, segmentId: string): Promise<string | null> {
  const read = await eventStore.readStream(`segment-${segmentId}`, { direction: 'backwards', maxCount: 1 });
  const last = read.status === 'found' ? read.events[0] : undefined;
  if (last === undefined || last.metadata.workspaceId !== workspaceId) return `segment ${segmentId} does not exist`;
  if (last.type === 'SegmentDeleted') return `segment ${segmentId} is deleted`;
  return null;
}

/** A member of the segment as templates will see it, or a placeholder while the segment looks empty. */
async function sampleContact(db: Kysely<Database>, workspaceId: string, segmentId: string): Promise<{ contactId: string; values: Record<string, unknown> }> {
  const result = await sql<{ id: string; email: string; tags: string[]; attributes: Record<string, AttributeValue> }>`
    SELECT c.id::text AS id, c.email, c.tags, c.attributes
    FROM segment_memberships m JOIN contacts c ON c.id::text = m.contact_id AND c.workspace_id = m.workspace_id
    WHERE m.workspace_id = ${workspaceId} AND m.segment_id = ${segmentId} AND c.status = 'active'
    ORDER BY m.contact_id LIMIT 1`.execute(db);
  const row = result.rows[0];
  if (row === undefined) return { contactId: '00000000-0000-4000-8000-000000000000', values: { email: 'preflight@example.com', tags: [] } };
  return { contactId: row.id, values: contactValues(row) };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
