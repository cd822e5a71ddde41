import { describe, expect, it } from 'vitest';
import { canonicalEmail, groupDuplicates, type DedupeCandidate } from '../../../src/domain/contacts/dedupe.js';

const contact = (id: string, email: string, day: number, extra: Partial<DedupeCandidate> = {}): DedupeCandidate => ({
  id,
  email,
  phone: null,
  externalId: null,
  createdAt: `2024-05-${String(day).padStart(2, '0')}T10:00:00.000Z`,
  ...extra,
});

describe('canonicalEmail', () => {
  it.each([
    ['a.da+news@gmail.com', 'ada@gmail.com'],
    ['Ada@GoogleMail.com', 'ada@gmail.com'],
    ['ada+x+y@outlook.com', 'ada@outlook.com'],
    ['a.da@outlook.com', 'a.da@outlook.com'],
    ['a.da+tag@example.com', 'a.da+tag@example.com'],
    ['+only@gmail.com', '+only@gmail.com'],
    ['ADA@ICLOUD.COM', 'ada@icloud.com'],
  ])('%s → %s', (email, canonical) => expect(canonicalEmail(email)).toBe(canonical));
});

describe('groupDuplicates', () => {
  it('groups by canonical email and picks the oldest as survivor', () => {
    const groups = groupDuplicates(
      [contact('c', 'a.da@gmail.com', 3), contact('a', 'ada+news@googlemail.com', 1), contact('b', 'ada@gmail.com', 2), contact('z', 'grace@example.com', 1)],
      ['email_canonical'],
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.survivor.id).toBe('a');
    expect(groups[0]!.duplicates.map((d) => [d.contact.id, d.rule, d.key])).toEqual([
      ['b', 'email_canonical', 'ada@gmail.com'],
      ['c', 'email_canonical', 'ada@gmail.com'],
    ]);
  });

  it('breaks equal creation times by id', () => {
    const [group] = groupDuplicates([contact('b', 'x@a.com', 1, { phone: '+491' }), contact('a', 'y@a.com', 1, { phone: '+491' })], ['phone']);
    expect(group!.survivor.id).toBe('a');
  });

  it('links transitively across rules and names the rule that matched', () => {
    const groups = groupDuplicates(
      [
        contact('a', 'a@x.com', 1, { phone: '+4911111111' }),
        contact('b', 'b@x.com', 2, { phone: '+4911111111', externalId: 'crm-1' }),
        contact('c', 'c@x.com', 3, { externalId: 'crm-1' }),
        contact('d', 'd@x.com', 4, { externalId: 'crm-2' }),
      ],
      ['phone', 'external_id'],
    );
    expect(groups).toEqual([
      {
        survivor: expect.objectContaining({ id: 'a' }),
        duplicates: [
          { contact: expect.objectContaining({ id: 'b' }), rule: 'phone', key: '+4911111111' },
          { contact: expect.objectContaining({ id: 'c' }), rule: 'external_id', key: 'crm-1' },
        ],
      },
    ]);
  });

  it('only applies the requested rules and ignores empty keys', () => {
    const candidates = [contact('a', 'a@x.com', 1, { phone: '+4911111111', externalId: '' }), contact('b', 'b@x.com', 2, { phone: '+4911111111', externalId: '' })];
    expect(groupDuplicates(candidates, ['external_id'])).toEqual([]);
    expect(groupDuplicates(candidates, ['email_canonical'])).toEqual([]);
    expect(groupDuplicates(candidates, ['phone'])).toHaveLength(1);
    expect(groupDuplicates([...candidates, candidates[0]!], ['phone'])[0]!.duplicates).toHaveLength(1);
  });
});
