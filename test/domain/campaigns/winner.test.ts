import { describe, expect, it } from 'vitest';
import { pickWinner, rateOf, testPhaseOf } from '../../../src/domain/campaigns/winner.js';
import { abTest } from './fixtures.js';

describe('A/B winner: the metric and the tie-break', () => {
  it('the highest rate wins, compared exactly (not as rounded floats)', () => {
    // 1/3 and 333/1000 both round to 0.3333; 1/3 is larger.
    expect(pickWinner([{ key: 'A', sent: 1000, hits: 333 }, { key: 'B', sent: 3, hits: 1 }])).toEqual({ variantKey: 'B', values: { A: 0.333, B: 0.3333 } });
    expect(pickWinner([{ key: 'A', sent: 10, hits: 2 }, { key: 'B', sent: 10, hits: 5 }, { key: 'C', sent: 10, hits: 4 }]).variantKey).toBe('B');
  });

  it('equal rates: more emails sent wins; then the variant listed first', () => {
    expect(pickWinner([{ key: 'A', sent: 10, hits: 5 }, { key: 'B', sent: 20, hits: 10 }]).variantKey).toBe('B');
    expect(pickWinner([{ key: 'A', sent: 10, hits: 5 }, { key: 'B', sent: 10, hits: 5 }]).variantKey).toBe('A');
    expect(pickWinner([{ key: 'B', sent: 10, hits: 5 }, { key: 'A', sent: 10, hits: 5 }]).variantKey).toBe('B');
    // Nobody opened anything: the first variant, all values 0.
    expect(pickWinner([{ key: 'A', sent: 0, hits: 0 }, { key: 'B', sent: 4, hits: 0 }])).toEqual({ variantKey: 'B', values: { A: 0, B: 0 } });
    expect(pickWinner([{ key: 'A', sent: 4, hits: 0 }, { key: 'B', sent: 4, hits: 0 }])).toEqual({ variantKey: 'A', values: { A: 0, B: 0 } });
  });

  it('a variant that sent nothing has rate 0 and loses to any hit', () => {
    expect(pickWinner([{ key: 'A', sent: 0, hits: 0 }, { key: 'B', sent: 50, hits: 1 }]).variantKey).toBe('B');
    expect(rateOf({ key: 'A', sent: 0, hits: 0 })).toBe(0);
    expect(() => pickWinner([])).toThrow(/at least one variant/);
  });

  it('a campaign has a test phase with variants and a sample below 100 %', () => {
    expect(testPhaseOf(null)).toBeNull();
    expect(testPhaseOf({ ...abTest, testSamplePercent: 100 })).toBeNull();
    expect(testPhaseOf(abTest)).toBe(abTest);
  });
});
