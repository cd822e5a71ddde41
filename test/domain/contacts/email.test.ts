import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizePhone } from '../../../src/domain/contacts/email.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { ValidationError } from '../../../src/domain/shared/errors.js';

function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('normalizeEmail', () => {
  it.each([
    ['plain', 'ada@example.com', 'ada@example.com'],
    ['surrounding whitespace', '  ada@example.com\t\n', 'ada@example.com'],
    ['upper-case local part and domain', 'Ada.Lovelace@Example.COM', 'ada.lovelace@example.com'],
    ['+tag kept', 'ada+news@example.com', 'ada+news@example.com'],
    ['dots kept', 'a.d.a@gmail.com', 'a.d.a@gmail.com'],
    ['IDN domain to punycode', 'ada@Müller.de', 'ada@xn--mller-kva.de'],
    ['already punycode', 'ada@xn--mller-kva.de', 'ada@xn--mller-kva.de'],
    ['full-width domain folded (UTS 46)', 'ada@ｅｘａｍｐｌｅ.com', 'ada@example.com'],
    ['Unicode local part, decomposed → NFC', 'jose\u0301@example.com', 'jos\u00e9@example.com'],
    ['Unicode local part lower-cased', 'ÅSA@example.se', 'åsa@example.se'],
    ['subdomain', 'ops@mail.eu.example.co.uk', 'ops@mail.eu.example.co.uk'],
    ['RFC specials allowed in atoms', "o'brien!#$%&*/=?^_`{|}~-@example.com", "o'brien!#$%&*/=?^_`{|}~-@example.com"],
  ])('%s', (_, raw, expected) => {
    expect(normalizeEmail(raw)).toBe(expected);
  });

  it('gives visually equal inputs the same identity, and +tags a different one', () => {
    const ws = 'ws-1';
    expect(contactIdFor(ws, normalizeEmail(' ADA@Example.com'))).toBe(contactIdFor(ws, normalizeEmail('ada@example.COM ')));
    expect(contactIdFor(ws, normalizeEmail('ada+x@example.com'))).not.toBe(contactIdFor(ws, normalizeEmail('ada@example.com')));
    expect(contactIdFor('ws-2', 'ada@example.com')).not.toBe(contactIdFor(ws, 'ada@example.com'));
  });

  it.each([
    ['empty', '   ', /empty/],
    ['no @', 'ada.example.com', /exactly one @/],
    ['two @', 'ada@lovelace@example.com', /exactly one @/],
    ['space inside', 'ada lovelace@example.com', /spaces/],
    ['control character', 'ada\u0000@example.com', /control/],
    ['zero-width space', 'ada\u200b@example.com', /invisible/],
    ['empty local part', '@example.com', /empty local part/],
    ['local part over 64 octets', `${'a'.repeat(65)}@example.com`, /64/],
    ['leading dot', '.ada@example.com', /dot/],
    ['double dot', 'a..da@example.com', /dot/],
    ['quoted local part', '"ada"@example.com', /not allowed/],
    ['empty domain', 'ada@', /empty domain/],
    ['domain without a dot', 'ada@localhost', /without a dot/],
    ['IP literal', 'ada@[127.0.0.1]', /invalid domain/],
    ['numeric top-level domain', 'ada@127.0.0.1', /top-level/],
    ['label starting with a dash', 'ada@-example.com', /invalid domain/],
    ['underscore in domain', 'ada@ex_ample.com', /invalid domain/],
    ['over 254 octets', `ada@${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.com`, /254/],
  ])('rejects %s', (_, raw, reason) => {
    const error = rejection(() => normalizeEmail(raw, 'input.email'));
    expect(error.field).toBe('input.email');
    expect(error.message).toMatch(reason);
  });

  it('rejects non-strings naming the field', () => {
    expect(rejection(() => normalizeEmail(42)).field).toBe('email');
  });
});

describe('normalizePhone', () => {
  it.each([
    ['+4915112345678', '+4915112345678'],
    [' +49 151 1234-5678 ', '+4915112345678'],
    ['+1 (555) 123-4567', '+15551234567'],
    ['+1.555.123.4567', '+15551234567'],
  ])('%s → %s', (raw, expected) => {
    expect(normalizePhone(raw)).toBe(expected);
  });

  it.each([
    ['no country code (no guessing)', '0151 12345678'],
    ['00 prefix', '004915112345678'],
    ['letters', '+49 151 CALL-ME'],
    ['extension', '+1 555 123 4567 x12'],
    ['too short', '+49 12'],
    ['too long', '+1234567890123456'],
    ['country code 0', '+0151234567'],
    ['empty', ''],
  ])('rejects %s', (_, raw) => {
    expect(rejection(() => normalizePhone(raw, 'input.phone')).field).toBe('input.phone');
  });
});
