import { CAMPAIGN_EVENT_SCHEMA_VERSIONS, upcastCampaignEvent } from '../domain/campaigns/events.js';
import { CONTACT_EVENT_SCHEMA_VERSIONS, upcastContactEvent } from '../domain/contacts/events.js';
import { LAUNCH_EVENT_SCHEMA_VERSIONS, upcastLaunchEvent } from '../domain/launches/events.js';
import { SEGMENT_EVENT_SCHEMA_VERSIONS, upcastSegmentEvent } from '../domain/segments/events.js';
import { TEMPLATE_EVENT_SCHEMA_VERSIONS, upcastTemplateEvent } from '../domain/templates/events.js';
import { categoryOf, type RecordedEvent } from './port.js';

/**
 * The one upcasting pipeline: every slice's schema versions and upcaster, by stream category. The protected
 * store (src/privacy/protectedStore.ts) runs it on every read, so every reader of the port — command handlers,
 * the relay (and so NATS subscribers), projection gap backfills, sagas, temporal queries, exports — sees events
 * in today's shape, whatever version they were stored with.
 */
interface Slice {
  readonly versions: Readonly<Record<string, number>>;
  readonly upcast: (event: { readonly type: string; readonly data: unknown }, schemaVersion: number) => { readonly type: string; readonly data: unknown };
}

const SLICES: Readonly<Record<string, Slice>> = {
  contact: { versions: CONTACT_EVENT_SCHEMA_VERSIONS, upcast: upcastContactEvent },
  campaign: { versions: CAMPAIGN_EVENT_SCHEMA_VERSIONS, upcast: upcastCampaignEvent },
  segment: { versions: SEGMENT_EVENT_SCHEMA_VERSIONS, upcast: upcastSegmentEvent },
  template: { versions: TEMPLATE_EVENT_SCHEMA_VERSIONS, upcast: upcastTemplateEvent },
  launch: { versions: LAUNCH_EVENT_SCHEMA_VERSIONS, upcast: upcastLaunchEvent },
};

const CURRENT: ReadonlyMap<string, number> = new Map(Object.values(SLICES).flatMap((slice) => Object.entries(slice.versions)));

/** The schema version an event type is written with today (1 for types without a version table, e.g. email events). */
export function currentSchemaVersion(eventType: string): number {
  return CURRENT.get(eventType) ?? 1;
}

/**
 * The event in today's shape, with `metadata.schemaVersion` moved to today's version (so that a slice's own
 * upcaster, called again downstream, has nothing to do). Returned unchanged: events already current, types of
 * other categories, and versions newer than this engine knows (a newer engine wrote them during a rolling
 * deploy; the slices' readers refuse them by name instead of this pipeline stalling every reader).
 */
export function upcastRecorded(event: RecordedEvent): RecordedEvent {
  const slice = SLICES[categoryOf(event.streamId)];
  const current = slice?.versions[event.type];
  if (slice === undefined || current === undefined || event.metadata.schemaVersion >= current) return event;
  const upcast = slice.upcast(event, event.metadata.schemaVersion);
  return { ...event, data: upcast.data, metadata: { ...event.metadata, schemaVersion: current } };
}
