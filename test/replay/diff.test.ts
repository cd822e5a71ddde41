import { describe, expect, it } from 'vitest';
import { diffStates } from '../../src/replay/diff.js';

describe('diffStates', () => {
  it('names each changed leaf by its path, keys sorted; unchanged values are left out', () => {
    const before = { status: 'draft', settings: { name: 'A', sender: { email: 'a@x.test', name: null }, topic: null } };
    const after = { status: 'scheduled', settings: { name: 'A', sender: { email: 'b@x.test', name: null }, topic: 'news' }, scheduledAt: '2026-12-01T09:00:00.000Z' };
    expect(diffStates(before, after)).toEqual([
      { path: 'scheduledAt', before: undefined, after: '2026-12-01T09:00:00.000Z' },
      { path: 'settings.sender.email', before: 'a@x.test', after: 'b@x.test' },
      { path: 'settings.topic', before: null, after: 'news' },
      { path: 'status', before: 'draft', after: 'scheduled' },
    ]);
  });

  it('compares arrays of the same length by index, others as one value', () => {
    expect(diffStates({ v: [{ k: 'A', p: 50 }, { k: 'B', p: 50 }] }, { v: [{ k: 'A', p: 30 }, { k: 'B', p: 70 }] })).toEqual([
      { path: 'v[0].p', before: 50, after: 30 },
      { path: 'v[1].p', before: 50, after: 70 },
    ]);
    expect(diffStates({ tags: ['a'] }, { tags: ['a', 'b'] })).toEqual([{ path: 'tags', before: ['a'], after: ['a', 'b'] }]);
    expect(diffStates({ a: 1 }, { a: 1 })).toEqual([]);
    expect(diffStates(null, { a: 1 })).toEqual([{ path: '(state)', before: null, after: { a: 1 } }]);
  });
});
