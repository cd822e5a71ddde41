import { describe, expect, it } from 'vitest';
import { evaluate, type ContactSnapshot } from '../../../src/domain/segments/evaluate.js';
import { explain } from '../../../src/domain/segments/explain.js';
import { dependencyOrder, dependentsOf } from '../../../src/domain/segments/order.js';
import type { Rule } from '../../../src/domain/segments/rules.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const ada: ContactSnapshot = {
  contactId: 'c1',
  email: 'ada@acme.com',
  attributes: {
    plan: { type: 'string', value: 'pro' },
    age: { type: 'number', value: 36 },
    vip: { type: 'boolean', value: true },
    signedUp: { type: 'date', value: '2024-05-20T00:00:00.000Z' },
    interests: { type: 'list', value: ['golf', 'chess'] },
  },
  tags: ['customer'],
  subscriptions: { newsletter: { status: 'subscribed', at: '2024-01-01T00:00:00Z' }, promos: { status: 'unsubscribed', at: '2024-02-01T00:00:00Z' } },
  suppressed: false,
  merged: false,
};
const none = () => false;
const is = (rule: Rule, contact = ada, membershipOf: (id: string) => boolean = none) => evaluate(rule, contact, membershipOf, NOW);

describe('evaluate', () => {
  it.each<[Rule, boolean]>([
    [{ attribute: 'plan', op: 'eq', value: 'pro', type: 'string' }, true],
    [{ attribute: 'plan', op: 'eq', value: 'Pro', type: 'string' }, false],
    [{ attribute: 'plan', op: 'neq', value: 'free', type: 'string' }, true],
    [{ attribute: 'plan', op: 'contains', value: 'r', type: 'string' }, true],
    [{ attribute: 'age', op: 'gt', value: 36, type: 'number' }, false],
    [{ attribute: 'age', op: 'gte', value: 36, type: 'number' }, true],
    [{ attribute: 'age', op: 'lt', value: 40.5, type: 'number' }, true],
    [{ attribute: 'vip', op: 'eq', value: true, type: 'boolean' }, true],
    [{ attribute: 'signedUp', op: 'after', value: '2024-05-19', type: 'date' }, true],
    [{ attribute: 'signedUp', op: 'before', value: '2024-05-20T03:00:00+02:00', type: 'date' }, true],
    [{ attribute: 'signedUp', op: 'before', value: '2024-05-20T01:00:00+02:00', type: 'date' }, false],
    [{ attribute: 'signedUp', op: 'eq', value: '2024-05-20', type: 'date' }, true],
    [{ attribute: 'signedUp', op: 'within_last_days', value: 13, type: 'date' }, true],
    [{ attribute: 'signedUp', op: 'within_last_days', value: 12, type: 'date' }, false],
    [{ attribute: 'interests', op: 'contains', value: 'golf', type: 'list' }, true],
    [{ attribute: 'interests', op: 'contains', value: 'gol', type: 'list' }, false],
    [{ attribute: 'missing', op: 'exists', type: 'string' }, false],
    [{ attribute: 'missing', op: 'neq', value: 'x', type: 'string' }, false],
    [{ not: { attribute: 'missing', op: 'eq', value: 'x', type: 'string' } }, true],
    [{ attribute: 'age', op: 'eq', value: '36', type: 'string' }, false],
    [{ email: { op: 'ends_with', value: '@ACME.com' } }, true],
    [{ email: { op: 'eq', value: ' Ada@Acme.com ' } }, true],
    [{ email: { op: 'contains', value: 'bob' } }, false],
    [{ tag: 'customer' }, true],
    [{ subscribed: 'newsletter' }, true],
    [{ subscribed: 'promos' }, false],
    [{ unsubscribed: 'promos' }, true],
    [{ unsubscribed: 'other' }, false],
    [{ suppressed: false }, true],
    [{ engagement: { event: 'opened', withinDays: 30 } }, false],
    [{ all: [] }, true],
    [{ any: [] }, false],
    [{ any: [{ tag: 'nope' }, { all: [{ tag: 'customer' }, { not: { suppressed: true } }] }] }, true],
  ])('%j → %s', (rule, expected) => {
    expect(is(rule)).toBe(expected);
  });

  it('inSegment asks the membership function', () => {
    expect(is({ inSegment: 'S' }, ada, (id) => id === 'S')).toBe(true);
    expect(is({ inSegment: 'T' }, ada, (id) => id === 'S')).toBe(false);
  });

  it('a merged contact matches nothing, not even everyone', () => {
    expect(is({ all: [] }, { ...ada, merged: true })).toBe(false);
  });

  it('does not read attributes from the prototype', () => {
    expect(is({ attribute: 'constructor', op: 'exists', type: 'string' })).toBe(false);
  });
});

describe('explain', () => {
  it('gives each node its result and the contact values it looked at', () => {
    const rules: Rule = { all: [{ tag: 'customer' }, { attribute: 'age', op: 'gt', value: 40, type: 'number' }, { not: { subscribed: 'newsletter' } }] };
    const tree = explain(rules, ada, none, NOW);
    expect(tree).toMatchObject({ path: 'rules', result: false, detail: '1 of 3 rules match (all must match)' });
    expect(tree.children.map((c) => [c.path, c.result])).toEqual([
      ['rules.all[0]', true],
      ['rules.all[1]', false],
      ['rules.all[2]', false],
    ]);
    expect(tree.children[1]!.detail).toBe('the contact\'s number attribute "age" is 36; rule: gt 40');
    expect(tree.children[2]!.children[0]).toMatchObject({ path: 'rules.all[2].not', result: true, detail: expect.stringContaining('subscribed to "newsletter"') });
  });

  it('agrees with evaluate', () => {
    const rules: Rule = { any: [{ tag: 'x' }, { email: { op: 'contains', value: 'acme' } }] };
    expect(explain(rules, ada, none, NOW).result).toBe(is(rules));
  });
});

describe('dependency order', () => {
  const s = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });
  it('puts a segment after the ones it references', () => {
    expect(dependencyOrder([s('c', 'b'), s('b', 'a'), s('a'), s('d')]).map((x) => x.id)).toEqual(['a', 'd', 'b', 'c']);
  });
  it('tolerates a cycle (made by concurrent saves): its segments come last', () => {
    expect(dependencyOrder([s('x', 'y'), s('y', 'x'), s('a')]).map((x) => x.id)).toEqual(['a', 'x', 'y']);
  });
  it('lists transitive dependents in order', () => {
    expect(dependentsOf('a', [s('c', 'b'), s('b', 'a'), s('a'), s('d')]).map((x) => x.id)).toEqual(['b', 'c']);
  });
});
