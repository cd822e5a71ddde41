import type { ColumnType, Selectable } from 'kysely';
import type { AttributeType, AttributeValue, SuppressionReason } from '../../domain/contacts/events.js';
import type { Int8, Timestamp } from '../db/schema.js';

/** Read-model tables of the contacts slice; part of the one Database interface (src/projections/db/schema.ts). */
export interface ContactTables {
  contacts: ContactsTable;
  contact_consents: ContactConsentsTable;
  suppressions: SuppressionsTable;
  contact_attribute_keys: ContactAttributeKeysTable;
}

/** jsonb: pg parses it on read; writes pass JSON text. */
export type ContactAttributesColumn = ColumnType<Record<string, AttributeValue>, string, string>;

export interface ContactsTable {
  id: string;
  workspace_id: string;
  /** Normalized: the identity, unique per workspace among active contacts. */
  email: string;
  email_as_given: string;
  external_id: string | null;
  phone: string | null;
  /** The typed values as in the events: `{ "plan": { "type": "string", "value": "pro" } }`. */
  attributes: ContactAttributesColumn;
  tags: ColumnType<string[], string[], string[]>;
  status: 'active' | 'merged';
  merged_into: string | null;
  suppressed: boolean;
  suppression_reason: SuppressionReason | null;
  source: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Position of the last event applied to this row: re-applying an older event changes nothing. */
  last_position: Int8;
}

/** Current consent per contact and topic; the full history is the contact's stream. */
export interface ContactConsentsTable {
  workspace_id: string;
  contact_id: string;
  topic: string;
  status: 'subscribed' | 'unsubscribed';
  source: string;
  /** The consent text the contact last agreed to (kept after an unsubscribe). */
  consent_text_version: string | null;
  /** The reason of the last unsubscribe, if any. */
  reason: string | null;
  /** When the current record was given (a re-consent to a new text moves it). */
  at: Timestamp;
  /** When the status last flipped between subscribed and unsubscribed. */
  changed_at: Timestamp;
  last_position: Int8;
}

/** The suppression list: contacts that must not be emailed, whatever their consents. */
export interface SuppressionsTable {
  workspace_id: string;
  contact_id: string;
  email: string;
  reason: SuppressionReason;
  detail: string | null;
  at: Timestamp;
  last_position: Int8;
}

/**
 * The workspace's contact schema: every attribute key seen, with the type of its first use (first writer wins).
 * Commands refuse a value of another type for a known key; segments and templates read it as the schema.
 */
export interface ContactAttributeKeysTable {
  workspace_id: string;
  key: string;
  type: AttributeType;
  first_seen_at: Timestamp;
}

export type ContactRow = Selectable<ContactsTable>;
export type ContactConsentRow = Selectable<ContactConsentsTable>;
export type SuppressionRow = Selectable<SuppressionsTable>;
export type ContactAttributeKeyRow = Selectable<ContactAttributeKeysTable>;
