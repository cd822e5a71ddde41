/**
 * Contact events (stream `contact-<contactId>`): the contract between the contact aggregate, its read models
 * and the segment membership projector. Every type is schema version 1 unless noted.
 *
 * Times are ISO-8601 strings chosen by the command (decide functions never read a clock).
 */

/** A typed custom attribute value. Dates are ISO-8601 strings (date or date-time); lists hold strings. */
export type AttributeValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'date'; readonly value: string }
  | { readonly type: 'list'; readonly value: readonly string[] };

export type AttributeType = AttributeValue['type'];
export const ATTRIBUTE_TYPES: readonly AttributeType[] = ['string', 'number', 'boolean', 'date', 'list'];

export type SuppressionReason = 'hard_bounce' | 'complaint' | 'manual';

export interface ContactCreated {
  readonly type: 'ContactCreated';
  readonly data: {
    readonly contactId: string;
    /** Normalized (see src/domain/contacts/email.ts): the identity, unique per workspace. */
    readonly email: string;
    /** As given, for display. */
    readonly emailAsGiven: string;
    readonly externalId: string | null;
    /** E.164, e.g. +4915112345678. */
    readonly phone: string | null;
    readonly attributes: Readonly<Record<string, AttributeValue>>;
    readonly tags: readonly string[];
    /** Where the contact came from: 'api', 'import:<jobId>', ... */
    readonly source: string;
    readonly createdAt: string;
  };
}

export interface ContactAttributesChanged {
  readonly type: 'ContactAttributesChanged';
  readonly data: {
    /** Only changed keys; null removes the attribute. */
    readonly changes: Readonly<Record<string, AttributeValue | null>>;
    /** Phone and external id changes travel here too (absent: unchanged; null: cleared). */
    readonly phone?: string | null;
    readonly externalId?: string | null;
    readonly changedAt: string;
  };
}

export interface ContactTagged {
  readonly type: 'ContactTagged';
  readonly data: { readonly tag: string; readonly at: string };
}

export interface ContactUntagged {
  readonly type: 'ContactUntagged';
  readonly data: { readonly tag: string; readonly at: string };
}

/** A consent record: what the contact agreed to, when, how, and to which wording. */
export interface ContactSubscribed {
  readonly type: 'ContactSubscribed';
  readonly data: {
    /** A topic or list key, e.g. 'newsletter'. */
    readonly topic: string;
    /** 'form:signup', 'import:<jobId>', 'api', ... */
    readonly source: string;
    /** The version of the consent text the contact saw. */
    readonly consentTextVersion: string;
    readonly at: string;
  };
}

export interface ContactUnsubscribed {
  readonly type: 'ContactUnsubscribed';
  readonly data: {
    readonly topic: string;
    /** 'link:<campaignId>', 'one-click:<campaignId>', 'api', 'import:<jobId>', ... */
    readonly source: string;
    readonly reason: string | null;
    readonly at: string;
  };
}

export interface ContactSuppressed {
  readonly type: 'ContactSuppressed';
  readonly data: { readonly reason: SuppressionReason; readonly detail: string | null; readonly at: string };
}

export interface ContactUnsuppressed {
  readonly type: 'ContactUnsuppressed';
  readonly data: { readonly detail: string | null; readonly at: string };
}

/** On the duplicate's stream, last event: the contact now lives on as `survivorId`. */
export interface ContactMerged {
  readonly type: 'ContactMerged';
  readonly data: { readonly survivorId: string; readonly rule: string; readonly at: string };
}

/** On the survivor's stream: what it took over from a duplicate, after the precedence policy was applied. */
export interface ContactAbsorbed {
  readonly type: 'ContactAbsorbed';
  readonly data: {
    readonly duplicateId: string;
    readonly duplicateEmail: string;
    /** Attributes the survivor gained or whose value changed by the merge (the policy's result). */
    readonly attributes: Readonly<Record<string, AttributeValue>>;
    readonly tags: readonly string[];
    readonly subscriptions: readonly { readonly topic: string; readonly source: string; readonly consentTextVersion: string; readonly at: string }[];
    readonly unsubscriptions: readonly { readonly topic: string; readonly at: string }[];
    readonly suppression: { readonly reason: SuppressionReason; readonly at: string } | null;
    readonly phone: string | null;
    readonly externalId: string | null;
    readonly rule: string;
    readonly at: string;
  };
}

export type ContactEvent =
  | ContactCreated
  | ContactAttributesChanged
  | ContactTagged
  | ContactUntagged
  | ContactSubscribed
  | ContactUnsubscribed
  | ContactSuppressed
  | ContactUnsuppressed
  | ContactMerged
  | ContactAbsorbed;

export type ContactEventType = ContactEvent['type'];

export const CONTACT_EVENT_TYPES: readonly ContactEventType[] = [
  'ContactCreated',
  'ContactAttributesChanged',
  'ContactTagged',
  'ContactUntagged',
  'ContactSubscribed',
  'ContactUnsubscribed',
  'ContactSuppressed',
  'ContactUnsuppressed',
  'ContactMerged',
  'ContactAbsorbed',
];

export const contactStreamId = (contactId: string): string => `contact-${contactId}`;
