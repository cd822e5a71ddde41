import type { Transaction } from 'kysely';
import { TEMPLATE_EVENT_TYPES, templateIdOfStream, upcastTemplateEvent } from '../../domain/templates/events.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/projectionRunner.js';

export const TEMPLATES_PROJECTION = 'templates';

/** Templates and every version's content, from template events. */
export const templatesProjection: Projection = {
  name: TEMPLATES_PROJECTION,
  tables: ['templates', 'template_versions'],
  eventTypes: TEMPLATE_EVENT_TYPES,
  async apply(trx, recorded) {
    if (!recorded.streamId.startsWith('template-')) return;
    const event = upcastTemplateEvent(recorded, recorded.metadata.schemaVersion);
    const id = templateIdOfStream(recorded.streamId);
    const workspaceId = recorded.metadata.workspaceId;
    const position = recorded.position.toString();
    switch (event.type) {
      case 'TemplateCreated': {
        const { name, subject, html, text, createdAt } = event.data;
        await trx
          .insertInto('templates')
          .values({ id, workspace_id: workspaceId, name, current_version: 1, archived: false, created_at: createdAt, updated_at: createdAt, last_position: position })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        await insertVersion(trx, { id, workspaceId, version: 1, subject, html, text, at: createdAt });
        return;
      }
      case 'TemplateChanged': {
        const { version, subject, html, text, changedAt } = event.data;
        await insertVersion(trx, { id, workspaceId, version, subject, html, text, at: changedAt });
        await update(trx, recorded, { current_version: version, updated_at: changedAt });
        return;
      }
      case 'TemplateRenamed':
        await update(trx, recorded, { name: event.data.name, updated_at: event.data.renamedAt });
        return;
      case 'TemplateArchived':
        await update(trx, recorded, { archived: true, updated_at: event.data.archivedAt });
        return;
    }
  },
};

async function insertVersion(
  trx: Transaction<Database>,
  v: { id: string; workspaceId: string; version: number; subject: string; html: string; text: string | null; at: string },
): Promise<void> {
  await trx
    .insertInto('template_versions')
    .values({ template_id: v.id, workspace_id: v.workspaceId, version: v.version, subject: v.subject, html: v.html, text: v.text, created_at: v.at })
    .onConflict((oc) => oc.columns(['template_id', 'version']).doNothing())
    .execute();
}

async function update(
  trx: Transaction<Database>,
  recorded: RecordedEvent,
  values: { name?: string; current_version?: number; archived?: boolean; updated_at: string },
): Promise<void> {
  await trx
    .updateTable('templates')
    .set({ ...values, last_position: recorded.position.toString() })
    .where('id', '=', templateIdOfStream(recorded.streamId))
    .where('last_position', '<', recorded.position.toString())
    .execute();
}
