import type { ColumnType } from 'kysely';
import type { Int8, Timestamp } from '../db/schema.js';

/** Read-model tables of the segments slice; part of the one Database interface (src/projections/db/schema.ts). */
export interface SegmentTables {
  segment_contact_snapshots: SegmentContactSnapshotsTable;
  segments: SegmentsTable;
  segment_memberships: SegmentMembershipsTable;
  segment_membership_history: SegmentMembershipHistoryTable;
}

type Json<T> = ColumnType<T, string, string>;

/**
 * The membership projector's own copy of each contact, kept from contact events (it does not read the contacts
 * slice's tables). Date attributes are normalized instants (src/domain/segments/dates.ts).
 */
export interface SegmentContactSnapshotsTable {
  workspace_id: string;
  contact_id: string;
  email: string;
  /** { key: { type, value } } as in AttributeValue. */
  attributes: Json<Record<string, { type: string; value: unknown }>>;
  tags: ColumnType<string[], string[], string[]>;
  /** { topic: { status: 'subscribed' | 'unsubscribed', at } }. */
  subscriptions: Json<Record<string, { status: 'subscribed' | 'unsubscribed'; at: string }>>;
  suppressed: boolean;
  merged: boolean;
  updated_at: Timestamp;
}

export type SegmentStatusColumn = 'active' | 'deleted';

export interface SegmentsTable {
  workspace_id: string;
  id: string;
  name: string;
  description: string | null;
  /** The rules version (1 when defined, +1 per SegmentRulesChanged). */
  version: number;
  rules: Json<unknown>;
  status: SegmentStatusColumn;
  /** Segments named in the rules' `inSegment` leaves. */
  depends_on: ColumnType<string[], string[], string[]>;
  member_count: Int8;
  /** The rules version the memberships were last fully evaluated for. */
  evaluated_version: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Why and since when a contact is in a segment. */
export interface MembershipReason {
  /** 'contact': a contact event re-evaluated the contact; 'rules': a full evaluation of the segment. */
  readonly trigger: 'contact' | 'rules';
  readonly eventType: string;
  /** Global position of that event, as a decimal string. */
  readonly position: string;
  /** The rules version that matched. */
  readonly version: number;
}

export interface SegmentMembershipsTable {
  workspace_id: string;
  segment_id: string;
  contact_id: string;
  since: Timestamp;
  reason: Json<MembershipReason>;
}

/** One stay of a contact in a segment, [entered, left) (migration 011_temporal; written in history.ts). */
export interface SegmentMembershipHistoryTable {
  workspace_id: string;
  segment_id: string;
  contact_id: string;
  entered_at: Timestamp;
  entered_position: Int8;
  left_at: Date | null;
  left_position: string | null;
}
