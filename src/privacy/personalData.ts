/**
 * Which fields of which events are personal data, whose they are, and what they read as once erased.
 *
 * Personal: a contact's email (normalized and as given), phone, external id, custom attributes (names, cities,
 * birthdays, ...), free texts that can quote them (unsubscribe reasons, suppression details, SMTP and bounce
 * diagnostics: "550 <ada@example.com> unknown"), and what was sent to them (subject lines are personalized,
 * clicked links may be). Not personal by themselves: ids (see the README on the contact id as a pseudonym),
 * tags, consent topics, consent text versions and sources, times, counts, campaign and template references.
 *
 * The owner is the contact whose key seals the fields: the contact of a `contact-<id>` stream, the recipient of
 * an email event (`data.contactId`), and for a merge's ContactAbsorbed the duplicate's address is the
 * duplicate's (`data.duplicateId`).
 */

export interface PersonalGroup {
  /** The contact whose key seals these fields; null when the event names none (then nothing may be sealed). */
  readonly owner: (streamId: string, data: Readonly<Record<string, unknown>>) => string | null;
  /**
   * Field → its value after erasure, from the owner's id and the field's shape (see SHAPES). Only fields present
   * and not null are sealed.
   */
  readonly fields: Readonly<Record<string, (ownerId: string, shape: unknown) => unknown>>;
}

/**
 * What stays readable of a sealed field: attribute keys and types are the workspace's contact schema, not
 * personal data, so an erased contact's attributes read as the same keys with blank values. A rebuild after an
 * erasure then derives the same schema (contact_attribute_keys) as the live read model did.
 */
export const SHAPES: Readonly<Record<string, (value: unknown) => unknown>> = {
  attributes: attributeShape,
  changes: attributeShape,
};

type Shape = Record<string, string | null>;

function attributeShape(value: unknown): Shape {
  const shape: Shape = {};
  for (const [key, attribute] of Object.entries((value ?? {}) as Record<string, { type?: unknown } | null>)) shape[key] = typeof attribute?.type === 'string' ? attribute.type : null;
  return shape;
}

const BLANK: Readonly<Record<string, unknown>> = { string: '', number: 0, boolean: false, date: '1970-01-01', list: [] };

/** The erased form of attributes (or attribute changes): the same keys and types, blank values (null stays null: a removal). */
function erasedAttributes(_ownerId: string, shape: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, type] of Object.entries((shape ?? {}) as Shape)) out[key] = type === null ? null : { type, value: BLANK[type] ?? '' };
  return out;
}

/** An erased address: unique per contact (read models keep emails unique), and never deliverable (RFC 2606). */
export const erasedEmail = (contactId: string): string => `${contactId}@erased.invalid`;
export const ERASED_TEXT = '[erased]';

const nothing = () => null;
const erasedText = () => ERASED_TEXT;

const streamContact = (streamId: string): string | null => (streamId.startsWith('contact-') ? streamId.slice('contact-'.length) : null);
const recipient = (_streamId: string, data: Readonly<Record<string, unknown>>): string | null => (typeof data.contactId === 'string' ? data.contactId : null);
const duplicate = (_streamId: string, data: Readonly<Record<string, unknown>>): string | null => (typeof data.duplicateId === 'string' ? data.duplicateId : null);

export const PERSONAL_DATA: Readonly<Record<string, readonly PersonalGroup[]>> = {
  ContactCreated: [{ owner: streamContact, fields: { email: erasedEmail, emailAsGiven: erasedEmail, phone: nothing, externalId: nothing, attributes: erasedAttributes } }],
  ContactAttributesChanged: [{ owner: streamContact, fields: { changes: erasedAttributes, phone: nothing, externalId: nothing } }],
  ContactUnsubscribed: [{ owner: streamContact, fields: { reason: nothing } }],
  ContactSuppressed: [{ owner: streamContact, fields: { detail: nothing } }],
  ContactUnsuppressed: [{ owner: streamContact, fields: { detail: nothing } }],
  ContactAbsorbed: [
    { owner: streamContact, fields: { attributes: erasedAttributes, phone: nothing, externalId: nothing } },
    { owner: duplicate, fields: { duplicateEmail: erasedEmail } },
  ],
  EmailSent: [{ owner: recipient, fields: { email: erasedEmail, subject: erasedText } }],
  EmailFailed: [{ owner: recipient, fields: { email: erasedEmail, reason: erasedText } }],
  EmailRenderFailed: [{ owner: recipient, fields: { reason: erasedText } }],
  EmailBounced: [{ owner: recipient, fields: { reason: erasedText } }],
  EmailClicked: [{ owner: recipient, fields: { url: erasedText } }],
};
