import type { Kysely } from 'kysely';
import { CONTACT_EVENT_TYPES, type ContactEvent } from '../../domain/contacts/events.js';
import { SEGMENT_EVENT_TYPES, isSegmentStream, segmentIdOfStream, upcastSegmentEvent } from '../../domain/segments/events.js';
import { dependentsOf } from '../../domain/segments/order.js';
import { referencedSegments, type Rule } from '../../domain/segments/rules.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/projectionRunner.js';
import { evaluateSegmentFully } from './fullEvaluation.js';
import { recordLeft } from './history.js';
import { activeSegments, reevaluateContact } from './membership.js';
import { applyContactEvent, snapshotFromRow, snapshotColumns } from './snapshot.js';

export const SEGMENTS_PROJECTION = 'segments';

export interface SegmentsProjectionOptions {
  /** The clock of time-relative rules (`within_last_days`); default: the wall clock. */
  readonly now?: () => Date;
}

/**
 * Segment definitions and memberships, kept incrementally:
 * - a contact event updates this projector's snapshot of the contact and re-evaluates THAT contact only;
 * - SegmentDefined / SegmentRulesChanged evaluate the segment fully (set-based SQL), then the segments that
 *   depend on it, in dependency order; SegmentDeleted drops its memberships and re-evaluates its dependents.
 * Everything runs in the runner's batch transaction, which also moves the checkpoint (redelivery is skipped).
 */
export function createSegmentsProjection(options: SegmentsProjectionOptions = {}): Projection {
  const now = options.now ?? (() => new Date());
  return {
    name: SEGMENTS_PROJECTION,
    tables: ['segment_contact_snapshots', 'segments', 'segment_memberships', 'segment_membership_history'],
    eventTypes: [...CONTACT_EVENT_TYPES, ...SEGMENT_EVENT_TYPES],
    async apply(trx, event) {
      if (isSegmentStream(event.streamId)) await applySegmentEvent(trx, event, now());
      else if (event.streamId.startsWith('contact-')) await applyToContact(trx, event, now());
    },
  };
}

async function applyToContact(db: Kysely<Database>, event: RecordedEvent, now: Date): Promise<void> {
  const workspaceId = event.metadata.workspaceId;
  const contactId = event.streamId.slice('contact-'.length);
  const row = await db.selectFrom('segment_contact_snapshots').selectAll().where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).executeTakeFirst();
  const snapshot = applyContactEvent(row === undefined ? null : snapshotFromRow(row), event as unknown as ContactEvent, contactId);
  if (snapshot === null) return;
  const columns = snapshotColumns(snapshot, event.recordedAt);
  await db
    .insertInto('segment_contact_snapshots')
    .values({ workspace_id: workspaceId, contact_id: contactId, ...columns })
    .onConflict((oc) => oc.columns(['workspace_id', 'contact_id']).doUpdateSet(columns))
    .execute();
  await reevaluateContact(db, workspaceId, snapshot, { eventType: event.type, position: event.position, at: event.recordedAt }, now);
  // GDPR erasure: the contact left every segment above; its snapshot (email, attributes) goes too.
  if (event.type === 'ContactErased') await db.deleteFrom('segment_contact_snapshots').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).execute();
}

async function applySegmentEvent(db: Kysely<Database>, recorded: RecordedEvent, now: Date): Promise<void> {
  const event = upcastSegmentEvent(recorded, recorded.metadata.schemaVersion);
  const workspaceId = recorded.metadata.workspaceId;
  const segmentId = segmentIdOfStream(recorded.streamId);
  const at = recorded.recordedAt;
  const segment = db.updateTable('segments').where('workspace_id', '=', workspaceId).where('id', '=', segmentId);
  switch (event.type) {
    case 'SegmentDefined': {
      const { name, description, rules } = event.data;
      const row = { name, description, version: 1, rules: JSON.stringify(rules), status: 'active' as const, depends_on: referencedSegments(rules), evaluated_version: null, updated_at: at };
      await db
        .insertInto('segments')
        .values({ workspace_id: workspaceId, id: segmentId, created_at: at, member_count: 0, ...row })
        .onConflict((oc) => oc.columns(['workspace_id', 'id']).doUpdateSet(row))
        .execute();
      return evaluateWithDependents(db, recorded, workspaceId, segmentId, rules, 1, now);
    }
    case 'SegmentRulesChanged': {
      const { rules, version } = event.data;
      await segment.set({ rules: JSON.stringify(rules), version, depends_on: referencedSegments(rules), updated_at: at }).execute();
      return evaluateWithDependents(db, recorded, workspaceId, segmentId, rules, version, now);
    }
    case 'SegmentRenamed':
      await segment.set({ name: event.data.name, description: event.data.description, updated_at: at }).execute();
      return;
    case 'SegmentDeleted':
      await db.deleteFrom('segment_memberships').where('workspace_id', '=', workspaceId).where('segment_id', '=', segmentId).execute();
      await segment.set({ status: 'deleted', member_count: 0, updated_at: at }).execute();
      await recordLeft(db, { workspaceId, at, position: recorded.position }, [segmentId], null);
      // Validation refuses deleting a referenced segment; a concurrent save could still have made one depend on it.
      return evaluateDependents(db, recorded, workspaceId, segmentId, now);
  }
}

async function evaluateWithDependents(db: Kysely<Database>, recorded: RecordedEvent, workspaceId: string, segmentId: string, rules: Rule, version: number, now: Date): Promise<void> {
  const reason = { trigger: 'rules' as const, eventType: recorded.type, position: recorded.position.toString(), version };
  await evaluateSegmentFully(db, { workspaceId, segmentId, rules, version, since: recorded.recordedAt, reason, now });
  await evaluateDependents(db, recorded, workspaceId, segmentId, now);
}

async function evaluateDependents(db: Kysely<Database>, recorded: RecordedEvent, workspaceId: string, segmentId: string, now: Date): Promise<void> {
  for (const dependent of dependentsOf(segmentId, await activeSegments(db, workspaceId))) {
    const reason = { trigger: 'rules' as const, eventType: recorded.type, position: recorded.position.toString(), version: dependent.version };
    await evaluateSegmentFully(db, { workspaceId, segmentId: dependent.id, rules: dependent.rules, version: dependent.version, since: recorded.recordedAt, reason, now });
  }
}
