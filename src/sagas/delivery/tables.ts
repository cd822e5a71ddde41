import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Timestamp } from '../../projections/db/schema.js';

/**
 * Tables of the delivery side of the launch saga (migration 008_delivery_ledger). Not a read model: the ledger is
 * the saga's own write-side record of side effects, keyed by idempotency key.
 *
 * A type alias rather than an interface: `Kysely#withTables<T>` needs an indexable record type, and the
 * Database interface can extend an alias just the same.
 */
export type DeliveryTables = {
  delivery_ledger: DeliveryLedgerTable;
  unmatched_bounces: UnmatchedBouncesTable;
};

/** 'held': an A/B test's holdout recipient, waiting for the winner (never claimed; becomes pending with the winner). */
export type DeliveryStatus = 'held' | 'pending' | 'sending' | 'sent' | 'failed' | 'unknown';
/** Why a 'failed' row failed: refused for good (5xx), refused until attempts ran out (4xx), or not renderable. */
export type FailureKind = 'permanent' | 'temporary' | 'render';

export interface DeliveryLedgerTable {
  /** `<campaignId>:<variantKey>:<contactId>` (identifiers.ts). */
  idempotency_key: string;
  workspace_id: string;
  campaign_id: string;
  variant_key: string;
  contact_id: string;
  email: string;
  /** Deterministic Message-ID without brackets; unique, so a bounce finds its row. */
  message_id: string;
  status: DeliveryStatus;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  smtp_code: number | null;
  failure_kind: FailureKind | null;
  claimed_by: string | null;
  claimed_at: Date | null;
  sending_at: Date | null;
  sent_at: Date | null;
  failed_at: Date | null;
  /** What was sent, set with the pre-send mark (EmailSent carries it). */
  campaign_revision: number | null;
  template_id: string | null;
  template_version: number | null;
  subject: string | null;
  content_hash: string | null;
  /** The outcome event (EmailSent / EmailFailed / EmailRenderFailed) is in the recipient's email stream. */
  recorded: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A bounce or complaint whose Message-ID matched no ledger row of the workspace: kept for inspection. */
export interface UnmatchedBouncesTable {
  id: Generated<number>;
  workspace_id: string;
  /** sha256 of the normalized report: a provider's retry of the same report is stored once. */
  dedupe_key: string;
  message_id: string;
  kind: 'bounce' | 'complaint';
  bounce_type: 'hard' | 'soft' | null;
  source: string;
  reason: string | null;
  occurred_at: Timestamp;
  payload: ColumnType<unknown, string, string>;
  received_at: Timestamp;
}

export type DeliveryLedgerRow = Selectable<DeliveryLedgerTable>;
export type UnmatchedBounceRow = Selectable<UnmatchedBouncesTable>;
