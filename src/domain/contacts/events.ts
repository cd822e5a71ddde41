/**
 * Contact events (stream `contact-<contactId>`): the contract between the contact aggregate, its read models
 * and the segment membership projector. Every type is schema version 1 unless CONTACT_EVENT_SCHEMA_VERSIONS says
 * otherwise; older stored versions are upcast on read (upcastContactEvent, applied by the protected event store).
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

/**
 * Schema version 2. v1 had no `campaignId`: the campaign an unsubscribe came from was only encoded in `source`
 * (`one-click:<campaignId>`, `link:<campaignId>`) and every reader parsed it. v2 carries it explicitly; v1 events
 * are upcast by that very rule (campaignOfUnsubscribeSource).
 */
export interface ContactUnsubscribed {
  readonly type: 'ContactUnsubscribed';
  readonly data: {
    readonly topic: string;
    /** 'link:<campaignId>', 'one-click:<campaignId>', 'api', 'import:<jobId>', ... */
    readonly source: string;
    /** The campaign whose link or one-click header the contact used; null for any other source. */
    readonly campaignId: string | null;
    readonly reason: string | null;
    readonly at: string;
  };
}

/** ContactUnsubscribed as schema version 1 stored it (no campaignId). */
export interface ContactUnsubscribedV1 {
  readonly type: 'ContactUnsubscribed';
  readonly data: Omit<ContactUnsubscribed['data'], 'campaignId'>;
}

const UNSUBSCRIBE_SOURCE = /^(?:one-click|link):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** The campaign a v1 unsubscribe's `source` names (`one-click:<id>`, `link:<id>`), else null. */
export function campaignOfUnsubscribeSource(source: string): string | null {
  return UNSUBSCRIBE_SOURCE.exec(source)?.[1]?.toLowerCase() ?? null;
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

/**
 * The contact was erased (GDPR): its data key was destroyed, so the personal data of its earlier events reads as
 * erased markers (src/privacy/personalData.ts), and read models forget it. The last event of the stream: every
 * later command is refused with CONTACT_ERASED. Carries no personal data.
 */
export interface ContactErased {
  readonly type: 'ContactErased';
  readonly data: { readonly at: string };
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
  | ContactAbsorbed
  | ContactErased;

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
  'ContactErased',
];

/** The schema version each event type is written with today. */
export const CONTACT_EVENT_SCHEMA_VERSIONS: Readonly<Record<ContactEventType, number>> = {
  ContactCreated: 1,
  ContactAttributesChanged: 1,
  ContactTagged: 1,
  ContactUntagged: 1,
  ContactSubscribed: 1,
  ContactUnsubscribed: 2,
  ContactSuppressed: 1,
  ContactUnsuppressed: 1,
  ContactMerged: 1,
  ContactAbsorbed: 1,
  ContactErased: 1,
};

export const contactSchemaVersionOf = (eventType: string): number => CONTACT_EVENT_SCHEMA_VERSIONS[eventType as ContactEventType] ?? 1;

/**
 * The upcaster path: a stored contact event of any known schema version in today's shape. An event already at
 * today's version is returned as it is; a version newer than this engine knows is refused.
 */
export function upcastContactEvent(event: { readonly type: string; readonly data: unknown }, schemaVersion: number): ContactEvent {
  const current = CONTACT_EVENT_SCHEMA_VERSIONS[event.type as ContactEventType];
  if (current === undefined) throw new Error(`Not a contact event: ${event.type}`);
  if (schemaVersion === current) return event as ContactEvent;
  if (schemaVersion > current || schemaVersion < 1) throw new Error(`${event.type} schema version ${schemaVersion} is unknown (this engine reads ${current})`);
  if (event.type === 'ContactUnsubscribed') {
    // v1 → v2: the campaign moves out of the source string into its own field.
    const v1 = event as ContactUnsubscribedV1;
    return { type: 'ContactUnsubscribed', data: { ...v1.data, campaignId: campaignOfUnsubscribeSource(v1.data.source) } };
  }
  throw new Error(`${event.type} schema version ${schemaVersion} is unknown (this engine reads ${current})`);
}

export const contactStreamId = (contactId: string): string => `contact-${contactId}`;
