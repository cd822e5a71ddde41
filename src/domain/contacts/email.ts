import { domainToASCII } from 'node:url';
import { ValidationError } from '../shared/errors.js';

/**
 * The email identity of a contact. One address gives one normalized form, and the contact id is derived from
 * it (see identity.ts), so the rule below decides which inputs are "the same contact":
 *
 * 1. trim surrounding whitespace, Unicode NFC;
 * 2. lower-case the whole address. RFC 5321 lets a server treat local parts case-sensitively, but no major
 *    provider does, and two contacts differing only in case are a bug in every list we have seen;
 * 3. the domain goes to ASCII (IDNA/UTS 46 via `node:url` `domainToASCII`: `müller.de` → `xn--mller-kva.de`,
 *    full-width letters folded);
 * 4. syntax: exactly one `@`; local part of 1–64 octets, dot-atoms only (no quoted local parts, no leading,
 *    trailing or double dots, none of `"(),:;<>[\]`), UTF-8 allowed (RFC 6531); domain of dot-separated LDH
 *    labels of 1–63 characters with a non-numeric top-level label (no IP literals); at most 254 octets in all;
 *    no whitespace, control or invisible formatting characters anywhere.
 *
 * `+tags` and dots in the local part are KEPT: `a+x@` and `a@` are different contacts. Provider-specific folding
 * (Gmail ignores dots and `+tags`) is not identity; it belongs to a de-duplication rule that merges contacts.
 *
 * Throws ValidationError(reason, field) naming `field` (default `email`).
 */
export function normalizeEmail(raw: unknown, field = 'email'): string {
  if (typeof raw !== 'string') throw new ValidationError('email must be a string', field);
  const fail = (reason: string): never => {
    throw new ValidationError(`email ${reason}`, field);
  };
  const email = raw.trim().normalize('NFC').toLowerCase().normalize('NFC');
  if (email === '') fail('is empty');
  if (FORBIDDEN_CHARACTERS.test(email)) fail('must not contain spaces, control or invisible characters');
  const parts = email.split('@');
  if (parts.length !== 2) fail('must contain exactly one @');
  const [local, domain] = parts as [string, string];
  if (local === '') fail('has an empty local part');
  if (utf8Length(local) > 64) fail('has a local part longer than 64 octets');
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) fail('has a misplaced dot in its local part');
  if (LOCAL_SPECIALS.test(local)) fail('has a character that is not allowed in a local part');
  if (domain === '') fail('has an empty domain');
  const ascii = domainToASCII(domain);
  if (ascii === '') fail('has an invalid domain');
  const labels = ascii.split('.');
  if (labels.length < 2) fail('has a domain without a dot');
  if (!labels.every((label) => DOMAIN_LABEL.test(label))) fail('has an invalid domain');
  if (/^\d+$/.test(labels.at(-1)!)) fail('has an invalid top-level domain');
  const normalized = `${local}@${ascii}`;
  if (utf8Length(normalized) > 254) fail('is longer than 254 octets');
  return normalized;
}

/**
 * E.164 (`+4915112345678`). Accepts a leading `+` followed by digits, optionally grouped with spaces, dashes,
 * dots or parentheses; anything else (letters, extensions, a missing `+`) is rejected. No country is guessed:
 * a national number without its country code is an error, not a German or US number.
 */
export function normalizePhone(raw: unknown, field = 'phone'): string {
  if (typeof raw !== 'string') throw new ValidationError('phone must be a string', field);
  const trimmed = raw.trim();
  if (!/^\+[\d\s().-]+$/.test(trimmed)) {
    throw new ValidationError('phone must start with + and the country code, then digits (spaces, dashes, dots and parentheses allowed)', field);
  }
  const digits = trimmed.slice(1).replace(/[\s().-]/g, '');
  if (!/^[1-9]\d{6,14}$/.test(digits)) throw new ValidationError('phone must have 7 to 15 digits and a country code not starting with 0', field);
  return `+${digits}`;
}

// Whitespace (incl. Unicode spaces), C0/C1 controls, and invisible formatting characters (zero-width joiners,
// bidi marks, soft hyphens) that would make two visually identical addresses different contacts.
const FORBIDDEN_CHARACTERS = /[\s\p{Cc}\p{Cf}]/u;
const LOCAL_SPECIALS = /["(),:;<>[\\\]]/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

const utf8Length = (value: string): number => Buffer.byteLength(value, 'utf8');
