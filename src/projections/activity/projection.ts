import { categoryOf } from '../../eventstore/port.js';
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
};
