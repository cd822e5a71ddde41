import type { AttributeValue, SuppressionReason } from './events.js';

/**
 * Commands of the contact aggregate (stream `contact-<contactId>`). `at` is the command's time (decide never
 * reads a clock); values are validated again by decide, so internal callers get the same rules as the API.
 */

export interface SubscriptionRequest {
  readonly topic: string;
  readonly consentTextVersion: string;
  readonly source: string;
}

export interface CreateContact {
  readonly type: 'CreateContact';
  readonly data: {
    /** Derived from workspace and normalized email: contactIdFor() in identity.ts. */
    readonly contactId: string;
    readonly email: string;
    readonly externalId: string | null;
    readonly phone: string | null;
    readonly attributes: Readonly<Record<string, AttributeValue>>;
    readonly tags: readonly string[];
    readonly subscriptions: readonly SubscriptionRequest[];
    readonly source: string;
    readonly at: string;
  };
}

export interface UpdateContactAttributes {
  readonly type: 'UpdateContactAttributes';
  readonly data: {
    /** null removes the attribute. */
    readonly changes: Readonly<Record<string, AttributeValue | null>>;
    /** Absent: unchanged; null: cleared. */
    readonly phone?: string | null;
    readonly externalId?: string | null;
    readonly at: string;
  };
}

export interface TagContact {
  readonly type: 'TagContact';
  readonly data: { readonly tags: readonly string[]; readonly at: string };
}

export interface UntagContact {
  readonly type: 'UntagContact';
  readonly data: { readonly tags: readonly string[]; readonly at: string };
}

export interface SubscribeContact {
  readonly type: 'SubscribeContact';
  readonly data: SubscriptionRequest & { readonly at: string };
}

export interface UnsubscribeContact {
  readonly type: 'UnsubscribeContact';
  readonly data: {
    readonly topic: string;
    readonly source: string;
    /** The campaign whose unsubscribe link or header was used (absent or null: not from a campaign). */
    readonly campaignId?: string | null;
    readonly reason: string | null;
    readonly at: string;
  };
}

export interface SuppressContact {
  readonly type: 'SuppressContact';
  readonly data: { readonly reason: SuppressionReason; readonly detail: string | null; readonly at: string };
}

export interface UnsuppressContact {
  readonly type: 'UnsuppressContact';
  readonly data: { readonly detail: string | null; readonly at: string };
}

/** GDPR erasure: see ContactErased. Erasing an erased contact decides nothing (idempotent). */
export interface EraseContact {
  readonly type: 'EraseContact';
  readonly data: { readonly at: string };
}

export type ContactCommand =
  | CreateContact
  | UpdateContactAttributes
  | TagContact
  | UntagContact
  | SubscribeContact
  | UnsubscribeContact
  | SuppressContact
  | UnsuppressContact
  | EraseContact;

export const SUPPRESSION_REASONS: readonly SuppressionReason[] = ['hard_bounce', 'complaint', 'manual'];
