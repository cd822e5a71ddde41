import { describe, expect, it } from 'vitest';
import { microBatch } from '../../../src/sagas/delivery/microBatch.js';

describe('microBatch', () => {
  it('coalesces the lookups of one tick into one load; later lookups start a new one', async () => {
    const calls: number[][] = [];
    const load = microBatch(async (keys: readonly number[]) => {
      calls.push([...keys]);
      return new Map(keys.filter((k) => k !== 3).map((k) => [k, k * 10]));
    });
    expect(await Promise.all([load(1), load(2), load(3)])).toEqual([10, 20, undefined]);
    expect(await load(4)).toBe(40);
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });

  it('a failed load rejects every lookup of its batch', async () => {
    const load = microBatch<number, number>(async () => {
      throw new Error('down');
    });
    const results = await Promise.allSettled([load(1), load(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
