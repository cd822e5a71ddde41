import { sql } from 'kysely';
import { categoryOf, type RecordedEvent } from '../../eventstore/port.js';
import type { Projection } from '../runner/projectionRunner.js';

/** The workspace activity feed: every event's who/what/when, for dashboards and auditors. */
export const activityProjection: Projection = {
  name: 'activity',
  tables: ['activity_events'],
  async apply(trx, event) {
    await trx
      .insertInto('activity_events')
      .values({
        position: event.position.toString(),
        event_id: event.id,
        workspace_id: event.metadata.workspaceId,
        stream_id: event.streamId,
        category: categoryOf(event.streamId),
        event_type: event.type,
        revision: event.revision,
        actor: event.metadata.actor,
        correlation_id: event.metadata.correlationId,
        command_id: event.metadata.commandId,
        recorded_at: event.recordedAt,
      })
      .onConflict((oc) => oc.column('position').doNothing())
      .execute();
  },
  // One row per event and no event depends on another: a batch is one statement (a catch-up or a rebuild
  // would otherwise pay a round trip per event). Eleven array parameters, whatever the batch size.
  async applyMany(trx, events) {
    const column = <T>(value: (e: RecordedEvent) => T): T[] => events.map(value);
    await sql`
      INSERT INTO activity_events (position, event_id, workspace_id, stream_id, category, event_type, revision, actor, correlation_id, command_id, recorded_at)
      SELECT * FROM unnest(${column((e) => e.position.toString())}::int8[], ${column((e) => e.id)}::uuid[], ${column((e) => e.metadata.workspaceId)}::text[],
                           ${column((e) => e.streamId)}::text[], ${column((e) => categoryOf(e.streamId))}::text[], ${column((e) => e.type)}::text[],
                           ${column((e) => e.revision)}::int8[], ${column((e) => e.metadata.actor)}::text[], ${column((e) => e.metadata.correlationId)}::text[],
                           ${column((e) => e.metadata.commandId)}::text[], ${column((e) => e.recordedAt.toISOString())}::timestamptz[])
      ON CONFLICT (position) DO NOTHING`.execute(trx);
  },
};
