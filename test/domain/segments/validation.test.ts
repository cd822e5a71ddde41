import { describe, expect, it } from 'vitest';
import type { AttributeType } from '../../../src/domain/contacts/events.js';
import type { SegmentReference } from '../../../src/domain/segments/rules.js';
import { validateSegmentRules, type SegmentLookup } from '../../../src/domain/segments/validation.js';
import { ValidationError } from '../../../src/domain/shared/errors.js';

const ATTRIBUTES = new Map<string, AttributeType>([
  ['plan', 'string'],
  ['age', 'number'],
  ['vip', 'boolean'],
  ['birthday', 'date'],
  ['interests', 'list'],
]);

/** A workspace of segments: id → dependsOn (null: deleted). */
function lookup(graph: Record<string, readonly string[] | null>): SegmentLookup & { asked: string[][] } {
  const asked: string[][] = [];
  const fn = async (_workspaceId: string, ids: readonly string[]) => {
    asked.push([...ids]);
    const found = new Map<string, SegmentReference>();
    for (const id of ids) {
      const deps = graph[id];
      if (deps === undefined) continue;
      found.set(id, deps === null ? { status: 'deleted', dependsOn: [] } : { status: 'active', dependsOn: deps });
    }
    return found;
  };
  return Object.assign(fn, { asked });
}

const validate = (rules: unknown, graph: Record<string, readonly string[] | null> = {}, segmentId = 'self') =>
  validateSegmentRules(rules, { workspaceId: 'ws', segmentId, attributeKeys: async () => ATTRIBUTES, segments: lookup(graph) });

async function fieldOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).field;
}

describe('rule validation', () => {
  it('accepts every rule kind and gives attribute leaves their type', async () => {
    const rules = {
      all: [
        { attribute: 'plan', op: 'eq', value: 'pro' },
        { attribute: 'age', op: 'gte', value: 18 },
        { attribute: 'vip', op: 'eq', value: true },
        { attribute: 'birthday', op: 'within_last_days', value: 30 },
        { attribute: 'interests', op: 'contains', value: 'golf' },
        { attribute: 'plan', op: 'exists' },
        { email: { op: 'ends_with', value: '@acme.com' } },
        { any: [{ tag: 'vip' }, { subscribed: 'newsletter' }, { unsubscribed: 'promos' }] },
        { not: { suppressed: true } },
        { inSegment: 'other' },
        { engagement: { event: 'opened', withinDays: 30 } },
        { engagement: { event: 'clicked', campaignId: 'c1', withinDays: 7 } },
      ],
    };
    const validated = await validate(rules, { other: [] });
    expect(validated).toEqual({
      all: [
        { attribute: 'plan', op: 'eq', value: 'pro', type: 'string' },
        { attribute: 'age', op: 'gte', value: 18, type: 'number' },
        { attribute: 'vip', op: 'eq', value: true, type: 'boolean' },
        { attribute: 'birthday', op: 'within_last_days', value: 30, type: 'date' },
        { attribute: 'interests', op: 'contains', value: 'golf', type: 'list' },
        { attribute: 'plan', op: 'exists', type: 'string' },
        ...rules.all.slice(6),
      ],
    });
  });

  it.each([
    [{ all: [{ tag: 'a' }, { tag: 'b' }, { attribute: 'age', op: 'gt', value: 'old' }] }, 'rules.all[2].value'],
    [{ all: [{ attribute: 'plan', op: 'gt', value: 'a' }] }, 'rules.all[0].op'],
    [{ attribute: 'vip', op: 'contains', value: true }, 'rules.op'],
    [{ attribute: 'interests', op: 'eq', value: 'golf' }, 'rules.op'],
    [{ attribute: 'birthday', op: 'before', value: '2024-02-31' }, 'rules.value'],
    [{ attribute: 'birthday', op: 'within_last_days', value: 1.5 }, 'rules.value'],
    [{ attribute: 'plan', op: 'exists', value: 'x' }, 'rules.value'],
    [{ attribute: 'plan', op: 'like', value: 'x' }, 'rules.op'],
    [{ any: [{ not: { attribute: 'shoe_size', op: 'eq', value: 42 } }] }, 'rules.any[0].not.attribute'],
    [{ attribute: 'plan', op: 'eq', value: 'x', type: 'number' }, 'rules.type'],
    [{ attribute: 'plan', op: 'eq', value: 'x', extra: 1 }, 'rules.extra'],
    [{ email: { op: 'starts_with', value: 'a' } }, 'rules.email.op'],
    [{ email: { op: 'eq', value: '' } }, 'rules.email.value'],
    [{ engagement: { event: 'opened', withinDays: 0 } }, 'rules.engagement.withinDays'],
    [{ engagement: { event: 'bounced', withinDays: 3 } }, 'rules.engagement.event'],
    [{ tag: 3 }, 'rules.tag'],
    [{ suppressed: 'yes' }, 'rules.suppressed'],
    [{ all: { tag: 'a' } }, 'rules.all'],
    [{ tag: 'a', subscribed: 'b' }, 'rules'],
    [{}, 'rules'],
    [{ nope: 1 }, 'rules.nope'],
    [[{ tag: 'a' }], 'rules'],
    ['vip', 'rules'],
  ])('refuses %j at %s', async (rules, field) => {
    expect(await fieldOf(validate(rules))).toBe(field);
  });

  it('refuses trees that are too deep', async () => {
    let deep: unknown = { tag: 'x' };
    for (let i = 0; i < 12; i++) deep = { not: deep };
    expect(await fieldOf(validate(deep))).toMatch(/^rules(\.not)+$/);
  });

  it('refuses a missing or deleted segment in inSegment', async () => {
    expect(await fieldOf(validate({ all: [{ tag: 'a' }, { inSegment: 'ghost' }] }))).toBe('rules.all[1].inSegment');
    await expect(validate({ inSegment: 'gone' }, { gone: null })).rejects.toThrow(/was deleted/);
  });

  it('refuses a reference to itself', async () => {
    expect(await fieldOf(validate({ any: [{ inSegment: 'self' }] }, {}, 'self'))).toBe('rules.any[0].inSegment');
  });

  it('refuses a cycle through other segments and names it (A in B in A)', async () => {
    // Saving A with inSegment B, while B already uses A.
    const error = await validate({ all: [{ tag: 't' }, { inSegment: 'B' }] }, { B: ['A'] }, 'A').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('rules.all[1].inSegment');
    expect((error as ValidationError).message).toMatch(/A → B → A/);
  });

  it('follows references transitively, loading each level once', async () => {
    const segments = lookup({ B: ['C'], C: ['D'], D: ['A'] });
    const error = await validateSegmentRules({ inSegment: 'B' }, { workspaceId: 'ws', segmentId: 'A', attributeKeys: async () => ATTRIBUTES, segments }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/A → B → C → D → A/);
    expect(segments.asked).toEqual([['B'], ['C'], ['D']]);
  });

  it('accepts a diamond of references that is not a cycle', async () => {
    await expect(validate({ all: [{ inSegment: 'B' }, { inSegment: 'C' }] }, { B: ['D'], C: ['D'], D: [] }, 'A')).resolves.toBeDefined();
  });
});
