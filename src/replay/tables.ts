import type { Int8, Timestamp } from '../projections/db/schema.js';
import type { ColumnType } from 'kysely';

/** Fold snapshots of temporal queries (migration 011_temporal); part of the one Database interface. */
export type TemporalTables = {
  temporal_snapshots: TemporalSnapshotsTable;
};

export interface TemporalSnapshotsTable {
  stream_id: string;
  /** `<kind>:<fold version>:<hash of the event schema versions>`: rows of another version are never read. */
  fold_version: string;
  /** The stream revision the state was folded up to (inclusive). */
  revision: number;
  workspace_id: string;
  position: Int8;
  /** recordedAt of the event at `revision`. */
  recorded_at: Timestamp;
  state: ColumnType<unknown, string, string>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
