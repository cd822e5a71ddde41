import { ValidationError } from '../shared/errors.js';
import type { TemplateContent } from './events.js';

/**
 * Parsing untrusted command input (GraphQL arguments or NATS JSON) for the templates and campaigns slices.
 * Every failure is a ValidationError naming the input field (`input.name`).
 */

export type RawInput = Readonly<Record<string, unknown>>;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export const MAX_NAME = 200;
export const MAX_SUBJECT = 500;
export const MAX_HTML = 500_000;
export const MAX_TEXT = 200_000;

export function inputObject(raw: unknown, field = 'input'): RawInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError(`${field} must be an object.`, field);
  return raw as RawInput;
}

/** A uuid, lower-cased; `required: false` lets undefined/null through as undefined. */
export function uuidOf(value: unknown, field: string, required: true): string;
export function uuidOf(value: unknown, field: string, required: false): string | undefined;
export function uuidOf(value: unknown, field: string, required: boolean): string | undefined {
  if (value == null && !required) return undefined;
  if (!isUuid(value)) throw new ValidationError(`${field.replace(/^input\./, '')} must be a uuid.`, field);
  return value.toLowerCase();
}

export function nameOf(value: unknown, field = 'input.name'): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME) throw new ValidationError(`name must be a non-empty string of at most ${MAX_NAME} characters.`, field);
  return value.trim();
}

export function optionalText(value: unknown, field: string, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > max) throw new ValidationError(`${field.replace(/^input\./, '')} must be a string of at most ${max} characters, or null.`, field);
  return value;
}

export function expectedRevisionOf(value: unknown): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ValidationError('expectedRevision must be a non-negative integer.', 'input.expectedRevision');
  return value;
}

export function positiveIntegerOf(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ValidationError(`${field.replace(/^input\./, '')} must be a positive integer.`, field);
  return value;
}

/** Subject, HTML and text of a template (not yet checked as Liquid: see validateTemplateContent). */
export function templateContentOf(input: RawInput): TemplateContent {
  const { subject, html, text } = input;
  if (typeof subject !== 'string' || subject.trim() === '' || subject.length > MAX_SUBJECT) {
    throw new ValidationError(`subject must be a non-empty string of at most ${MAX_SUBJECT} characters.`, 'input.subject');
  }
  if (typeof html !== 'string' || html.trim() === '' || html.length > MAX_HTML) throw new ValidationError(`html must be a non-empty string of at most ${MAX_HTML} characters.`, 'input.html');
  return { subject, html, text: optionalText(text, 'input.text', MAX_TEXT) ?? null };
}
