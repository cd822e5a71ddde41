/** The pure part of the import: mapping files, header checks, row mapping (src/domain/contacts/import/). */
import { describe, expect, it } from 'vitest';
import { decideImportRow, type ImportContactRow } from '../../../src/domain/contacts/import/decide.js';
import { parseImportMapping } from '../../../src/domain/contacts/import/mapping.js';
import { indexHeader, mapRow, type ImportedContact } from '../../../src/domain/contacts/import/row.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import type { ContactEvent } from '../../../src/domain/contacts/events.js';
import { ValidationError } from '../../../src/domain/shared/errors.js';
import { HEADER, MAPPING } from './support.js';

const header = indexHeader(HEADER.split(','), MAPPING);
const row = (line: string, n = 2) => mapRow(line.split(','), n, header, MAPPING);

describe('parseImportMapping', () => {
  it('reads columns, typed attributes, tags and subscriptions', () => {
    expect(MAPPING).toEqual({
      email: 'E-Mail',
      phone: 'Telefon',
      externalId: null,
      attributes: [
        { key: 'first_name', column: 'Vorname', type: 'string', split: ';' },
        { key: 'age', column: 'Alter', type: 'number', split: ';' },
        { key: 'birthday', column: 'Geburtstag', type: 'date', split: ';' },
      ],
      tags: { column: 'Tags', split: ';' },
      subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v3', column: 'Newsletter' }],
    });
  });

  it.each([
    [[], 'mapping'],
    [{ first_name: 'Vorname' }, 'mapping.email'],
    [{ email: '' }, 'mapping.email'],
    [{ email: 'E', 'First Name': 'x' }, 'mapping.First Name'],
    [{ email: 'E', age: { column: 'A', type: 'integer' } }, 'mapping.age.type'],
    [{ email: 'E', tags: { column: 'T', split: '' } }, 'mapping.tags.split'],
    [{ email: 'E', subscribe: [{ topic: 'news', consentTextVersion: 'v1' }, { topic: 'News', consentTextVersion: 'v2' }] }, 'mapping.subscribe.1.topic'],
    [{ email: 'E', subscribe: { topic: 'news' } }, 'mapping.subscribe.consentTextVersion'],
  ])('refuses %j naming %s', (raw, field) => {
    expect(() => parseImportMapping(raw)).toThrow(expect.objectContaining({ field }));
  });
});

describe('indexHeader', () => {
  it('fails on a missing or repeated mapped column, naming it', () => {
    expect(() => indexHeader(['E-Mail', 'Telefon'], MAPPING)).toThrow(/column "Vorname" \(mapped to first_name\) is missing/);
    expect(() => indexHeader([...HEADER.split(','), ' Vorname '], MAPPING)).toThrow(/"Vorname" .* appears twice/);
    expect(() => indexHeader(undefined, MAPPING)).toThrow(/no header row/);
  });
});

describe('mapRow', () => {
  it('maps a good row; empty cells set nothing', () => {
    expect(row(' Ada@Example.COM ,+49 151 1234567,Ada,36.5,1815-12-10,VIP; beta ;,ja')).toEqual({
      ok: true,
      contact: {
        email: 'ada@example.com',
        emailAsGiven: 'Ada@Example.COM',
        phone: '+491511234567',
        externalId: null,
        attributes: { first_name: { type: 'string', value: 'Ada' }, age: { type: 'number', value: 36.5 }, birthday: { type: 'date', value: '1815-12-10' } },
        tags: ['vip', 'beta'],
        subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v3' }],
      },
    });
    expect(row('grace@example.com,,,,,,')).toMatchObject({ ok: true, contact: { phone: null, attributes: {}, tags: [], subscriptions: [] } });
  });

  it('reports every bad cell of a row with its column', () => {
    expect(row('not-an-email,12345,Ada,1.234,5,05/01/2024,,vielleicht', 7)).toEqual({ ok: false, errors: [{ row: 7, column: null, reason: 'expected 7 fields like the header, got 8' }] });
    const mapped = row('not-an-email,12345,Ada,1.234.5,05/01/2024,,vielleicht', 7);
    expect(mapped.ok).toBe(false);
    expect(!mapped.ok && mapped.errors.map((e) => [e.row, e.column])).toEqual([
      [7, 'E-Mail'],
      [7, 'Telefon'],
      [7, 'Alter'],
      [7, 'Geburtstag'],
      [7, 'Newsletter'],
    ]);
    expect(!mapped.ok && mapped.errors[2]!.reason).toMatch(/"1.234.5" is not a number/);
    expect(row(',,,,,,')).toEqual({ ok: false, errors: [{ row: 2, column: 'E-Mail', reason: 'email is empty' }] });
  });
});

describe('decideImportRow', () => {
  const contact: ImportedContact = {
    email: 'ada@example.com',
    emailAsGiven: 'Ada@example.com',
    phone: null,
    externalId: null,
    attributes: { first_name: { type: 'string', value: 'Ada' } },
    tags: ['vip'],
    subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v3' }],
  };
  const command = (c: ImportedContact = contact): ImportContactRow => ({ type: 'ImportContactRow', data: { contactId: 'c1', contact: c, source: 'import:job', at: '2024-05-01T10:00:00.000Z' } });
  const fold = (events: readonly ContactEvent[]) => events.reduce(contactDecider.evolve, contactDecider.initialState());

  it('creates a new contact with one CreateContact (created + subscribed), then decides nothing for the same row', () => {
    const created = decideImportRow(command(), fold([]));
    expect(created.map((e) => e.type)).toEqual(['ContactCreated', 'ContactSubscribed']);
    expect(created[0]!.data).toMatchObject({ tags: ['vip'], attributes: contact.attributes, source: 'import:job' });
    expect(decideImportRow(command(), fold(created))).toEqual([]);
  });

  it('updates only what changed, and never re-subscribes a contact who unsubscribed', () => {
    const history = [
      ...decideImportRow(command(), fold([])),
      { type: 'ContactUnsubscribed', data: { topic: 'newsletter', source: 'link', campaignId: null, reason: null, at: '2024-05-02T10:00:00.000Z' } },
    ] satisfies ContactEvent[];
    const events = decideImportRow(command({ ...contact, attributes: { first_name: { type: 'string', value: 'Augusta' } }, tags: ['vip', 'new'] }), fold(history));
    expect(events.map((e) => e.type)).toEqual(['ContactAttributesChanged', 'ContactTagged']);
  });

  it('refuses a merged contact naming the survivor', () => {
    const merged = fold([...decideImportRow(command(), fold([])), { type: 'ContactMerged', data: { survivorId: 'survivor-1', rule: 'manual', at: '2024-05-03T00:00:00Z' } }]);
    expect(() => decideImportRow(command(), merged)).toThrow(ValidationError);
    expect(() => decideImportRow(command(), merged)).toThrow(/merged into contact survivor-1/);
  });
});
