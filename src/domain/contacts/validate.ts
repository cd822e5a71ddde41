import { ValidationError } from '../shared/errors.js';
import { ATTRIBUTE_TYPES, type AttributeType, type AttributeValue } from './events.js';

/**
 * Value rules of the contact slice, shared by the aggregate (which re-checks what internal callers send) and
 * the API's input parsing (which names fields `input.…`). Every function throws ValidationError naming the
 * exact field, e.g. `attributes.birthday.type`.
 */

export const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,63}$/;
export const MAX_ATTRIBUTES = 100;
export const MAX_STRING_VALUE = 4_096;
export const MAX_LIST_ITEMS = 200;
export const MAX_LIST_ITEM = 256;
export const MAX_TAGS = 100;
export const MAX_LABEL = 256;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const TOPIC = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function parseAttributeKey(key: string, field: string): string {
  if (!ATTRIBUTE_KEY.test(key)) throw new ValidationError(`attribute key ${JSON.stringify(key)} must match ${ATTRIBUTE_KEY.source}`, field);
  return key;
}

/**
 * A typed attribute value. Dates are ISO 8601: a calendar date `2024-05-01` is kept as is; a date-time needs an
 * offset and is stored in UTC (`2024-05-01T10:00:00.000Z`), so that stored dates order correctly as text.
 */
export function parseAttributeValue(raw: unknown, field: string): AttributeValue {
  if (!isRecord(raw)) throw new ValidationError('attribute must be an object { type, value }', field);
  const { type, value } = raw;
  if (typeof type !== 'string' || !(ATTRIBUTE_TYPES as readonly string[]).includes(type)) {
    throw new ValidationError(`attribute type must be one of ${ATTRIBUTE_TYPES.join(', ')}`, `${field}.type`);
  }
  const valueField = `${field}.value`;
  switch (type as AttributeType) {
    case 'string':
      if (typeof value !== 'string') throw new ValidationError('a string attribute needs a string value', valueField);
      if (value.length > MAX_STRING_VALUE) throw new ValidationError(`a string attribute is at most ${MAX_STRING_VALUE} characters`, valueField);
      return { type: 'string', value };
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError('a number attribute needs a finite number', valueField);
      return { type: 'number', value };
    case 'boolean':
      if (typeof value !== 'boolean') throw new ValidationError('a boolean attribute needs true or false', valueField);
      return { type: 'boolean', value };
    case 'date':
      return { type: 'date', value: parseIsoDate(value, valueField) };
    case 'list':
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.length <= MAX_LIST_ITEM)) {
        throw new ValidationError(`a list attribute needs an array of strings of at most ${MAX_LIST_ITEM} characters`, valueField);
      }
      if (value.length > MAX_LIST_ITEMS) throw new ValidationError(`a list attribute holds at most ${MAX_LIST_ITEMS} items`, valueField);
      return { type: 'list', value: [...(value as string[])] };
  }
}

export function parseIsoDate(value: unknown, field: string): string {
  if (typeof value === 'string') {
    const dateOnly = DATE_ONLY.exec(value);
    if (dateOnly !== null) {
      const parsed = new Date(`${value}T00:00:00.000Z`);
      if (!Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value) return value;
    } else if (DATE_TIME.test(value)) {
      const parsed = new Date(value);
      if (!Number.isNaN(parsed.getTime())) return parsed.toISOString();
    }
  }
  throw new ValidationError('a date must be an ISO 8601 date (2024-05-01) or date-time with offset (2024-05-01T10:00:00Z)', field);
}

export function parseAttributes(raw: unknown, field: string): Record<string, AttributeValue> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new ValidationError('attributes must be an object keyed by attribute key', field);
  const entries = Object.entries(raw);
  if (entries.length > MAX_ATTRIBUTES) throw new ValidationError(`at most ${MAX_ATTRIBUTES} attributes`, field);
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of entries) out[parseAttributeKey(key, `${field}.${key}`)] = parseAttributeValue(value, `${field}.${key}`);
  return out;
}

/** Attribute changes: a value sets the key, null removes it. */
export function parseAttributeChanges(raw: unknown, field: string): Record<string, AttributeValue | null> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new ValidationError('changes must be an object keyed by attribute key', field);
  const entries = Object.entries(raw);
  if (entries.length > MAX_ATTRIBUTES) throw new ValidationError(`at most ${MAX_ATTRIBUTES} changes`, field);
  const out: Record<string, AttributeValue | null> = {};
  for (const [key, value] of entries) {
    out[parseAttributeKey(key, `${field}.${key}`)] = value === null ? null : parseAttributeValue(value, `${field}.${key}`);
  }
  return out;
}

/** Tags are trimmed, NFC, lower-cased, 1–64 characters, no control characters. */
export function normalizeTag(raw: unknown, field: string): string {
  if (typeof raw !== 'string') throw new ValidationError('a tag must be a string', field);
  const tag = raw.trim().normalize('NFC').toLowerCase();
  if (tag.length < 1 || tag.length > 64) throw new ValidationError('a tag must be 1 to 64 characters', field);
  if (INVISIBLE.test(tag)) throw new ValidationError('a tag must not contain control characters', field);
  return tag;
}

export function normalizeTags(raw: unknown, field: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ValidationError('tags must be a list of strings', field);
  if (raw.length > MAX_TAGS) throw new ValidationError(`at most ${MAX_TAGS} tags`, field);
  return [...new Set(raw.map((tag, i) => normalizeTag(tag, `${field}.${i}`)))];
}

/** A subscription topic key (`newsletter`, `product-updates`): trimmed, lower-cased. */
export function normalizeTopic(raw: unknown, field: string): string {
  const topic = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  if (topic === undefined || !TOPIC.test(topic)) throw new ValidationError(`topic must match ${TOPIC.source}`, field);
  return topic;
}

/** A short free-text label (source, consent text version, reason, external id): 1–256 characters, trimmed. */
export function parseLabel(raw: unknown, field: string, max = MAX_LABEL): string {
  const label = typeof raw === 'string' ? raw.trim() : undefined;
  if (label === undefined || label.length < 1 || label.length > max || INVISIBLE.test(label)) {
    throw new ValidationError(`must be a string of 1 to ${max} characters without control characters`, field);
  }
  return label;
}

export function parseOptionalLabel(raw: unknown, field: string, max = MAX_LABEL): string | null {
  return raw === undefined || raw === null ? null : parseLabel(raw, field, max);
}

export function sameAttributeValue(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type !== b.type) return false;
  if (a.type === 'list' && b.type === 'list') return a.value.length === b.value.length && a.value.every((item, i) => item === b.value[i]);
  return a.value === b.value;
}
