import { ATTRIBUTE_TYPES, type ContactEvent } from '../../domain/contacts/events.js';
import type { RecordedEvent } from '../../eventstore/port.js';

/**
 * What the set-based fold (fold.ts) accepts: contact events whose every field PostgreSQL would take as the
 * event-by-event `apply` writes it. The fold only writes each row's final state, so a value PostgreSQL would
 * refuse in an intermediate state (a bad timestamp later overwritten, a NUL byte in a reason) would slip through
 * it; such an event is refused here instead, and the runner then redoes the batch with `apply`, which parks it.
 * Stricter than PostgreSQL on purpose (ISO-8601 only, canonical uuids only): a refusal costs speed, not
 * correctness.
 */
export class ContactEventShapeError extends Error {
  override readonly name = 'ContactEventShapeError';
  constructor(event: RecordedEvent, problem: string) {
    super(`${event.type} at position ${event.position} (${event.streamId}): ${problem}`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const SUPPRESSION_REASONS: readonly unknown[] = ['hard_bounce', 'complaint', 'manual'];

/** The contact id of a `contact-<uuid>` stream, lower-cased as the uuid column returns it. */
export function contactIdOf(event: RecordedEvent): string {
  const id = event.streamId.slice('contact-'.length);
  if (!event.streamId.startsWith('contact-') || !UUID.test(id)) throw new ContactEventShapeError(event, 'the stream is not contact-<uuid>');
  return id.toLowerCase();
}

/** The event as a ContactEvent, or ContactEventShapeError naming the first field `apply` could not write. */
export function checkedContactEvent(event: RecordedEvent): ContactEvent {
  const fail = (problem: string): never => {
    throw new ContactEventShapeError(event, problem);
  };
  const data = event.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null) return fail('data is not an object');
  if (typeof event.metadata.workspaceId !== 'string') fail('metadata.workspaceId is not a string');
  // PostgreSQL refuses NUL in text and jsonb; one scan of the payload instead of one per field.
  if (JSON.stringify(data).includes('\\u0000')) fail('a value contains a NUL character');
  const text = (value: unknown, field: string) => typeof value === 'string' || fail(`${field} is not a string`);
  const nullableText = (value: unknown, field: string) => value === undefined || value === null || typeof value === 'string' || fail(`${field} is not a string or null`);
  const time = (value: unknown, field: string) => isIsoTimestamp(value) || fail(`${field} is not an ISO-8601 timestamp`);
  const attributes = (value: unknown, field: string, removals: boolean) => checkAttributes(value, removals) || fail(`${field} is not a map of typed attribute values`);
  const tags = (value: unknown, field: string) => (Array.isArray(value) && value.every((t) => typeof t === 'string')) || fail(`${field} is not a list of strings`);
  const list = (value: unknown, field: string) => Array.isArray(value) || fail(`${field} is not a list`);
  const reason = (value: unknown, field: string) => SUPPRESSION_REASONS.includes(value) || fail(`${field} is not a suppression reason`);

  switch (event.type) {
    case 'ContactCreated':
      text(data.email, 'email');
      text(data.emailAsGiven, 'emailAsGiven');
      nullableText(data.externalId, 'externalId');
      nullableText(data.phone, 'phone');
      attributes(data.attributes, 'attributes', false);
      tags(data.tags, 'tags');
      text(data.source, 'source');
      time(data.createdAt, 'createdAt');
      break;
    case 'ContactAttributesChanged':
      attributes(data.changes, 'changes', true);
      nullableText(data.phone, 'phone');
      nullableText(data.externalId, 'externalId');
      time(data.changedAt, 'changedAt');
      break;
    case 'ContactTagged':
    case 'ContactUntagged':
      text(data.tag, 'tag');
      time(data.at, 'at');
      break;
    case 'ContactSubscribed':
      text(data.topic, 'topic');
      text(data.source, 'source');
      nullableText(data.consentTextVersion, 'consentTextVersion');
      time(data.at, 'at');
      break;
    case 'ContactUnsubscribed':
      text(data.topic, 'topic');
      text(data.source, 'source');
      nullableText(data.reason, 'reason');
      time(data.at, 'at');
      break;
    case 'ContactSuppressed':
      reason(data.reason, 'reason');
      nullableText(data.detail, 'detail');
      time(data.at, 'at');
      break;
    case 'ContactUnsuppressed':
    case 'ContactErased':
      time(data.at, 'at');
      break;
    case 'ContactMerged':
      (typeof data.survivorId === 'string' && UUID.test(data.survivorId)) || fail('survivorId is not a uuid');
      time(data.at, 'at');
      break;
    case 'ContactAbsorbed': {
      attributes(data.attributes, 'attributes', false);
      tags(data.tags, 'tags');
      nullableText(data.phone, 'phone');
      nullableText(data.externalId, 'externalId');
      time(data.at, 'at');
      list(data.subscriptions, 'subscriptions');
      for (const s of data.subscriptions as Record<string, unknown>[]) {
        if (typeof s !== 'object' || s === null) fail('a subscription is not an object');
        text(s.topic, 'subscriptions[].topic');
        text(s.source, 'subscriptions[].source');
        nullableText(s.consentTextVersion, 'subscriptions[].consentTextVersion');
        time(s.at, 'subscriptions[].at');
      }
      list(data.unsubscriptions, 'unsubscriptions');
      for (const u of data.unsubscriptions as Record<string, unknown>[]) {
        if (typeof u !== 'object' || u === null) fail('an unsubscription is not an object');
        text(u.topic, 'unsubscriptions[].topic');
        time(u.at, 'unsubscriptions[].at');
      }
      const suppression = data.suppression as Record<string, unknown> | null;
      if (suppression !== null) {
        if (typeof suppression !== 'object') fail('suppression is not an object or null');
        reason(suppression.reason, 'suppression.reason');
        time(suppression.at, 'suppression.at');
      }
      break;
    }
    default:
      fail('not a contact event type');
  }
  return event as unknown as ContactEvent;
}

function isIsoTimestamp(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = ISO_TIMESTAMP.exec(value);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * A JSON object of typed attribute values (null too when `removals`). `__proto__` is refused: `apply` builds its
 * changes by assignment, which would turn that key into a prototype and drop it.
 */
function checkAttributes(value: unknown, removals: boolean): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const [key, attribute] of Object.entries(value)) {
    if (key === '__proto__') return false;
    if (attribute === null && removals) continue;
    if (typeof attribute !== 'object' || attribute === null || !(ATTRIBUTE_TYPES as readonly unknown[]).includes((attribute as { type?: unknown }).type)) return false;
  }
  return true;
}
