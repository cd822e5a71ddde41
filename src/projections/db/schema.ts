import type { ColumnType, Generated } from 'kysely';
import type { ContactTables } from '../contacts/tables.js';
import type { SegmentTables } from '../segments/tables.js';
import type { TemplateTables } from '../templates/tables.js';
import type { CampaignTables } from '../campaigns/tables.js';
import type { DeliveryTables } from '../../sagas/delivery/tables.js';
import type { ImportTables } from '../../sagas/import/tables.js';
import type { TemporalTables } from '../../replay/tables.js';
import type { PrivacyTables } from '../../privacy/tables.js';

/**
 * The one Database interface of the read side (PostgreSQL): projection bookkeeping, the relay checkpoint,
 * identity and access, and every read model. The PostgreSQL event store's own tables live in
 * src/eventstore/postgres/ and are not part of it.
 */
export interface Database extends ContactTables, SegmentTables, TemplateTables, CampaignTables, DeliveryTables, ImportTables, TemporalTables, PrivacyTables {
  projection_checkpoints: ProjectionCheckpointsTable;
  projection_parked_events: ProjectionParkedEventsTable;
  relay_checkpoints: RelayCheckpointsTable;
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
  activity_events: ActivityEventsTable;
}

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** int8 columns come back from pg as strings; callers convert with BigInt(). */
export type Int8 = ColumnType<string, bigint | string | number, bigint | string | number>;

export interface ProjectionCheckpointsTable {
  projection: string;
  /** Global position of the last event applied (or skipped) by this projection. */
  position: Int8;
  updated_at: Timestamp;
}

export interface ProjectionParkedEventsTable {
  id: Generated<number>;
  projection: string;
  position: Int8;
  event_id: string;
  stream_id: string;
  event_type: string;
  /** The full envelope as published, so the event can be replayed after a fix. */
  envelope: ColumnType<unknown, string, string>;
  error: string;
  parked_at: Timestamp;
}

export interface RelayCheckpointsTable {
  relay: string;
  /** Global position of the last event acknowledged by JetStream. */
  position: Int8;
  updated_at: Timestamp;
}

export interface WorkspacesTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export type ApiKeyRole = 'admin' | 'marketer' | 'auditor' | 'service';

export interface ApiKeysTable {
  id: string;
  workspace_id: string;
  name: string;
  role: ApiKeyRole;
  /** First characters of the key, shown to people so they can tell keys apart; never enough to use it. */
  key_prefix: string;
  /** sha256 (hex) of the whole key. Keys are 256-bit random, so a fast hash is enough; the key itself is never stored. */
  key_hash: string;
  created_by: string;
  created_at: Timestamp;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** One row per event: who did what to which stream, when (no event data, so no personal data). */
export interface ActivityEventsTable {
  position: Int8;
  event_id: string;
  workspace_id: string;
  stream_id: string;
  category: string;
  event_type: string;
  revision: Int8;
  actor: string;
  correlation_id: string;
  command_id: string | null;
  recorded_at: Timestamp;
}
