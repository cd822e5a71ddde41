import type { Transaction, Updateable } from 'kysely';
import { CAMPAIGN_EVENT_TYPES, campaignIdOfStream, upcastCampaignEvent, type CampaignSettings } from '../../domain/campaigns/events.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import type { Database } from '../db/schema.js';
import type { Projection } from '../runner/projectionRunner.js';
import type { CampaignsTable } from './tables.js';

export const CAMPAIGNS_PROJECTION = 'campaigns';

function settingsColumns(settings: CampaignSettings) {
  return {
    name: settings.name,
    sender_email: settings.sender?.email ?? null,
    sender_name: settings.sender?.name ?? null,
    reply_to: settings.replyTo,
    segment_id: settings.segmentId,
    template_id: settings.templateId,
    template_version: settings.templateVersion,
    topic: settings.topic,
  };
}

/** One row per campaign: its settings and where it is in its life, for listing, the dashboard and the scheduler. */
export const campaignsProjection: Projection = {
  name: CAMPAIGNS_PROJECTION,
  tables: ['campaigns'],
  eventTypes: CAMPAIGN_EVENT_TYPES,
  async apply(trx, recorded) {
    if (!recorded.streamId.startsWith('campaign-')) return;
    const event = upcastCampaignEvent(recorded, recorded.metadata.schemaVersion);
    if (event.type === 'CampaignCreated') {
      const { createdAt } = event.data;
      await trx
        .insertInto('campaigns')
        .values({
          id: campaignIdOfStream(recorded.streamId),
          workspace_id: recorded.metadata.workspaceId,
          ...settingsColumns(event.data),
          status: 'draft',
          created_at: createdAt,
          updated_at: createdAt,
          revision: recorded.revision,
          last_position: recorded.position.toString(),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      return;
    }
    switch (event.type) {
      case 'CampaignUpdated':
        return update(trx, recorded, settingsColumns(event.data), event.data.updatedAt);
      case 'CampaignVariantsDefined': {
        const { variants, testSamplePercent, winnerMetric, winnerAfterHours, definedAt } = event.data;
        return update(trx, recorded, { variants: JSON.stringify({ variants, testSamplePercent, winnerMetric, winnerAfterHours }) }, definedAt);
      }
      case 'CampaignScheduled':
        return update(trx, recorded, { status: 'scheduled', scheduled_at: event.data.at, time_zone: event.data.timeZone, scheduled_revision: recorded.revision }, event.data.scheduledAt);
      case 'CampaignUnscheduled':
        return update(trx, recorded, { status: 'draft', scheduled_at: null, time_zone: null, scheduled_revision: null }, event.data.unscheduledAt);
      case 'CampaignLaunched':
        return update(trx, recorded, { status: 'running', launched_at: event.data.at, launched_by: event.data.by }, event.data.at);
      case 'CampaignPaused':
        return update(trx, recorded, { status: 'paused' }, event.data.at);
      case 'CampaignResumed':
        return update(trx, recorded, { status: 'running' }, event.data.at);
      case 'CampaignCompleted':
        return update(trx, recorded, { status: 'completed', completed_at: event.data.at }, event.data.at);
      case 'CampaignCancelled':
        return update(trx, recorded, { status: 'cancelled', end_reason: event.data.reason }, event.data.at);
      case 'CampaignFailed':
        return update(trx, recorded, { status: 'failed', end_reason: event.data.reason }, event.data.at);
      case 'CampaignWinnerChosen':
        return update(trx, recorded, { winner: JSON.stringify(event.data) }, event.data.at);
      case 'CampaignLaunchReverted': {
        // Back to where it was before the launch; end_reason says why. A schedule keeps its revision, so the
        // scheduler's launch command id for it stays the one already used (no relaunch of a past schedule).
        const { to, scheduledAt, timeZone, reason, at } = event.data;
        const schedule = to === 'draft' ? { scheduled_at: null, time_zone: null, scheduled_revision: null } : { scheduled_at: scheduledAt, time_zone: timeZone };
        return update(trx, recorded, { status: to, ...schedule, launched_at: null, launched_by: null, winner: null, end_reason: reason }, at);
      }
    }
  },
};

async function update(trx: Transaction<Database>, recorded: RecordedEvent, values: Updateable<CampaignsTable>, at: string): Promise<void> {
  await trx
    .updateTable('campaigns')
    .set({ ...values, updated_at: at, revision: recorded.revision, last_position: recorded.position.toString() })
    .where('id', '=', campaignIdOfStream(recorded.streamId))
    .where('last_position', '<', recorded.position.toString())
    .execute();
}
