import type { Selectable } from 'kysely';
import type { AttributeValue, ContactEvent } from '../../domain/contacts/events.js';
import { toInstant } from '../../domain/segments/dates.js';
import type { ContactSnapshot } from '../../domain/segments/evaluate.js';
import type { SegmentContactSnapshotsTable } from './tables.js';

type Subscriptions = ContactSnapshot['subscriptions'];

/**
 * Folds one contact event into the membership projector's snapshot of that contact (pure). Returns null when
 * the event cannot apply (a change to a contact whose ContactCreated was never seen).
 */
export function applyContactEvent(snapshot: ContactSnapshot | null, event: ContactEvent, contactId: string): ContactSnapshot | null {
  if (event.type === 'ContactCreated') {
    const { email, attributes, tags } = event.data;
    return { contactId, email, attributes: withAttributes({}, attributes), tags: unique(tags), subscriptions: {}, suppressed: false, merged: false };
  }
  if (snapshot === null) return null;
  switch (event.type) {
    case 'ContactAttributesChanged':
      return { ...snapshot, attributes: withAttributes(snapshot.attributes, event.data.changes) };
    case 'ContactTagged':
      return snapshot.tags.includes(event.data.tag) ? snapshot : { ...snapshot, tags: [...snapshot.tags, event.data.tag] };
    case 'ContactUntagged':
      return { ...snapshot, tags: snapshot.tags.filter((t) => t !== event.data.tag) };
    case 'ContactSubscribed':
      return { ...snapshot, subscriptions: { ...snapshot.subscriptions, [event.data.topic]: { status: 'subscribed', at: event.data.at } } };
    case 'ContactUnsubscribed':
      return { ...snapshot, subscriptions: { ...snapshot.subscriptions, [event.data.topic]: { status: 'unsubscribed', at: event.data.at } } };
    case 'ContactSuppressed':
      return { ...snapshot, suppressed: true };
    case 'ContactUnsuppressed':
      return { ...snapshot, suppressed: false };
    case 'ContactMerged':
      return { ...snapshot, merged: true };
    case 'ContactErased':
      // Matches nothing (like a merged contact) and keeps nothing personal; the projection then drops the row.
      return { contactId, email: '', attributes: {}, tags: [], subscriptions: {}, suppressed: false, merged: true };
    case 'ContactAbsorbed': {
      const { attributes, tags, subscriptions, unsubscriptions, suppression } = event.data;
      return {
        ...snapshot,
        attributes: withAttributes(snapshot.attributes, attributes),
        tags: unique([...snapshot.tags, ...tags]),
        subscriptions: withConsent(snapshot.subscriptions, [
          ...subscriptions.map((s) => ({ topic: s.topic, status: 'subscribed' as const, at: s.at })),
          ...unsubscriptions.map((u) => ({ topic: u.topic, status: 'unsubscribed' as const, at: u.at })),
        ]),
        suppressed: snapshot.suppressed || suppression !== null,
      };
    }
  }
}

/** Applies attribute changes (null removes); date values are stored as normalized instants, invalid ones dropped. */
function withAttributes(current: ContactSnapshot['attributes'], changes: Readonly<Record<string, AttributeValue | null>>): Record<string, AttributeValue> {
  const next: Record<string, AttributeValue> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    const normalized = value === null ? null : normalize(value);
    if (normalized === null) delete next[key];
    else next[key] = normalized;
  }
  return next;
}

function normalize(value: AttributeValue): AttributeValue | null {
  if (value.type !== 'date') return value;
  const instant = toInstant(value.value);
  return instant === null ? null : { type: 'date', value: instant };
}

/** The merge policy's consent result, applied oldest first so the latest statement per topic wins. */
function withConsent(current: Subscriptions, entries: readonly { topic: string; status: 'subscribed' | 'unsubscribed'; at: string }[]): Subscriptions {
  const next: Record<string, { status: 'subscribed' | 'unsubscribed'; at: string }> = { ...current };
  for (const entry of [...entries].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) next[entry.topic] = { status: entry.status, at: entry.at };
  return next;
}

const unique = (values: readonly string[]): string[] => [...new Set(values)];

export type SnapshotRow = Selectable<SegmentContactSnapshotsTable>;

export function snapshotFromRow(row: SnapshotRow): ContactSnapshot {
  return {
    contactId: row.contact_id,
    email: row.email,
    attributes: row.attributes as ContactSnapshot['attributes'],
    tags: row.tags,
    subscriptions: row.subscriptions,
    suppressed: row.suppressed,
    merged: row.merged,
  };
}

/** The snapshot's columns besides its key (workspace_id, contact_id). */
export function snapshotColumns(snapshot: ContactSnapshot, updatedAt: Date) {
  return {
    email: snapshot.email,
    attributes: JSON.stringify(snapshot.attributes),
    tags: [...snapshot.tags],
    subscriptions: JSON.stringify(snapshot.subscriptions),
    suppressed: snapshot.suppressed,
    merged: snapshot.merged,
    updated_at: updatedAt,
  };
}
