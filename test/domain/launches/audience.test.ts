import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { audienceHash, AudienceHasher, sampleSizeOf, variantAt, variantSizes } from '../../../src/domain/launches/audience.js';
import { LAUNCH_EVENT_TYPES, upcastLaunchEvent } from '../../../src/domain/launches/events.js';

const ab = [
  { key: 'A', splitPercent: 50 },
  { key: 'B', splitPercent: 50 },
];
const abc = [
  { key: 'A', splitPercent: 33 },
  { key: 'B', splitPercent: 33 },
  { key: 'C', splitPercent: 34 },
];

describe('variant split', () => {
  it.each([1, 2, 3, 7, 10, 99, 100, 101, 1_000, 1_001])('an audience of %i is split to within one recipient of the splits', (total) => {
    for (const variants of [ab, abc, [{ key: 'A', splitPercent: 10 }, { key: 'B', splitPercent: 90 }]]) {
      const counted: Record<string, number> = {};
      for (let rank = 0; rank < total; rank++) {
        const key = variantAt(rank, total, variants).key;
        counted[key] = (counted[key] ?? 0) + 1;
      }
      expect(Object.values(counted).reduce((a, b) => a + b, 0)).toBe(total);
      for (const v of variants) {
        expect(Math.abs((counted[v.key] ?? 0) - (total * v.splitPercent) / 100)).toBeLessThan(1 + 1e-9);
        expect(counted[v.key] ?? 0).toBe(variantSizes(total, variants)[v.key]);
      }
    }
  });

  it('a single variant gets everyone; ranks outside the audience are refused', () => {
    expect(variantAt(0, 1, [{ key: 'main', splitPercent: 100 }]).key).toBe('main');
    expect(() => variantAt(5, 5, ab)).toThrow(/outside/);
    expect(() => variantAt(0, 1, [])).toThrow(/at least one variant/);
  });
});

describe('audience fingerprint', () => {
  it('is the sha256 of sorted contactId:variant lines, whatever the input order', () => {
    const members = Array.from({ length: 20 }, (_, i) => ({ contactId: randomUUID(), variantKey: i % 2 === 0 ? 'A' : 'B' }));
    const reversed = [...members].reverse();
    expect(audienceHash(members)).toBe(audienceHash(reversed));
    expect(audienceHash(members)).toMatch(/^[0-9a-f]{64}$/);
    const changed = members.map((m, i) => (i === 3 ? { ...m, variantKey: m.variantKey === 'A' ? 'B' : 'A' } : m));
    expect(audienceHash(changed)).not.toBe(audienceHash(members));
  });

  it('refuses input that is not in contact id order (the stream must be sorted)', () => {
    const hasher = new AudienceHasher();
    hasher.add('b', 'A');
    expect(() => hasher.add('a', 'A')).toThrow(/out of order/);
  });
});

describe('launch events', () => {
  it('every type is at schema version 1; unknown types and versions are refused', () => {
    for (const type of LAUNCH_EVENT_TYPES) expect(upcastLaunchEvent({ type, data: {} }, 1).type).toBe(type);
    expect(() => upcastLaunchEvent({ type: 'LaunchStarted', data: {} }, 2)).toThrow(/unknown/);
    expect(() => upcastLaunchEvent({ type: 'CampaignLaunched', data: {} }, 1)).toThrow(/Not a launch event/);
  });
});

describe('test sample', () => {
  it('is floor(total · percent / 100), at least one recipient per variant while there are enough, everyone without a test phase', () => {
    expect(sampleSizeOf(100, 20, 2)).toBe(20);
    expect(sampleSizeOf(41, 20, 2)).toBe(8);
    expect(sampleSizeOf(5, 20, 2)).toBe(2);
    expect(sampleSizeOf(1, 20, 2)).toBe(1);
    expect(sampleSizeOf(0, 20, 2)).toBe(0);
    expect(sampleSizeOf(41, null, 2)).toBe(41);
    expect(sampleSizeOf(41, 100, 2)).toBe(41);
  });
});
