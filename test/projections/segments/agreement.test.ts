/**
 * Property-style check that the SQL compiler and the evaluator agree: random contacts in the snapshot table,
 * random rule trees, and for each tree the contacts SQL selects equal those `evaluate` accepts.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttributeValue } from '../../../src/domain/contacts/events.js';
import { evaluate, type ContactSnapshot } from '../../../src/domain/segments/evaluate.js';
import type { AttributeRule, Rule } from '../../../src/domain/segments/rules.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { compileRules } from '../../../src/projections/segments/compile.js';
import { snapshotColumns, snapshotFromRow } from '../../../src/projections/segments/snapshot.js';
import { useTestDatabase } from '../../support/postgres.js';

const SEED = Number(process.env.SEGMENT_PROPERTY_SEED ?? Date.now() % 1_000_000);
const NOW = new Date('2024-06-01T12:00:00.000Z');

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  return { next, pick, chance: (p: number) => next() < p };
}

const STRINGS = ['pro', 'free', 'Pro', '', 'pr', 'ro', 'ü', 'x😀y', 'a b'];
const NUMBERS = [0, 1, -1, 1.5, 36, 1e21, 0.1 + 0.2, 0.3];
const TAGS = ['vip', 'customer', 'lead', 'Vip'];
const TOPICS = ['newsletter', 'promos', 'product'];
const LIST = ['golf', 'chess', 'go', 'ü'];
const EMAIL_PARTS = ['ada', 'bob', 'ümit', 'x😀'];
const DOMAINS = ['acme.com', 'beta.org', 'acme.com.evil'];
const SEGMENTS = ['S1', 'S2'];

function randomDate(r: ReturnType<typeof prng>): string {
  return new Date(Date.UTC(2024, 0, 1) + Math.floor(r.next() * 200 * 86_400_000)).toISOString();
}

function randomContact(r: ReturnType<typeof prng>, i: number): ContactSnapshot {
  const attributes: Record<string, AttributeValue> = {};
  if (r.chance(0.7)) attributes.plan = { type: 'string', value: r.pick(STRINGS) };
  if (r.chance(0.7)) attributes.age = r.chance(0.9) ? { type: 'number', value: r.pick(NUMBERS) } : { type: 'string', value: '36' };
  if (r.chance(0.7)) attributes.vip = { type: 'boolean', value: r.chance(0.5) };
  if (r.chance(0.7)) attributes.seen = { type: 'date', value: randomDate(r) };
  if (r.chance(0.7)) attributes.interests = { type: 'list', value: LIST.filter(() => r.chance(0.4)) };
  const subscriptions: Record<string, { status: 'subscribed' | 'unsubscribed'; at: string }> = {};
  for (const topic of TOPICS) if (r.chance(0.5)) subscriptions[topic] = { status: r.chance(0.5) ? 'subscribed' : 'unsubscribed', at: randomDate(r) };
  return {
    contactId: `c${String(i).padStart(4, '0')}`,
    email: `${r.pick(EMAIL_PARTS)}${i}@${r.pick(DOMAINS)}`,
    attributes,
    tags: TAGS.filter(() => r.chance(0.3)),
    subscriptions,
    suppressed: r.chance(0.2),
    merged: r.chance(0.05),
  };
}

function randomLeaf(r: ReturnType<typeof prng>): Rule {
  const attribute = (rule: Omit<AttributeRule, 'value'> & { value?: AttributeRule['value'] }): Rule => rule as AttributeRule;
  switch (Math.floor(r.next() * 13)) {
    case 0: return attribute({ attribute: 'plan', type: 'string', op: r.pick(['eq', 'neq', 'contains'] as const), value: r.pick(STRINGS) });
    case 1: return attribute({ attribute: 'age', type: 'number', op: r.pick(['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const), value: r.pick(NUMBERS) });
    case 2: return attribute({ attribute: 'vip', type: 'boolean', op: r.pick(['eq', 'neq'] as const), value: r.chance(0.5) });
    case 3: return attribute({ attribute: 'seen', type: 'date', op: r.pick(['eq', 'neq', 'before', 'after'] as const), value: r.pick([randomDate(r), randomDate(r).slice(0, 10), '2024-03-01T10:00:00+02:00']) });
    case 4: return attribute({ attribute: 'seen', type: 'date', op: 'within_last_days', value: r.pick([1, 30, 90, 365]) });
    case 5: return attribute({ attribute: 'interests', type: 'list', op: 'contains', value: r.pick(LIST) });
    case 6: return attribute({ attribute: r.pick(['plan', 'age', 'vip', 'seen', 'interests', 'nope']), type: 'string', op: 'exists' });
    case 7: return { email: { op: r.pick(['eq', 'ends_with', 'contains'] as const), value: r.pick(['@acme.com', 'ADA', 'ümit', '😀', 'ada1@acme.com', '.org']) } };
    case 8: return { tag: r.pick(TAGS) };
    case 9: return r.chance(0.5) ? { subscribed: r.pick(TOPICS) } : { unsubscribed: r.pick(TOPICS) };
    case 10: return { suppressed: r.chance(0.5) };
    case 11: return { inSegment: r.pick([...SEGMENTS, 'S3']) };
    default: return { engagement: { event: 'opened', withinDays: 30 } };
  }
}

function randomRule(r: ReturnType<typeof prng>, depth = 0): Rule {
  if (depth >= 3 || r.chance(0.35)) return randomLeaf(r);
  const children = Array.from({ length: Math.floor(r.next() * 4) }, () => randomRule(r, depth + 1));
  const kind = r.pick(['all', 'any', 'not'] as const);
  if (kind === 'not') return { not: randomRule(r, depth + 1) };
  return kind === 'all' ? { all: children } : { any: children };
}

let db: Kysely<Database>;
let contacts: ContactSnapshot[];
const memberships = new Map<string, Set<string>>();

beforeAll(async () => {
  const { url } = await useTestDatabase('segments_agreement');
  db = createKysely<Database>(createPool({ connectionString: url, max: 3 }));
  await migrateReadModels(db);
  const r = prng(SEED);
  const generated = Array.from({ length: 400 }, (_, i) => randomContact(r, i));
  for (const workspace of ['ws', 'other']) {
    await db.insertInto('segment_contact_snapshots').values(generated.map((c) => ({ workspace_id: workspace, contact_id: c.contactId, ...snapshotColumns(c, NOW) }))).execute();
  }
  for (const segment of SEGMENTS) {
    const members = generated.filter(() => r.chance(0.4)).map((c) => c.contactId);
    memberships.set(segment, new Set(members));
    const reason = JSON.stringify({ trigger: 'rules', eventType: 'x', position: '1', version: 1 });
    await db.insertInto('segment_memberships').values(members.map((contact_id) => ({ workspace_id: 'ws', segment_id: segment, contact_id, since: NOW, reason }))).execute();
  }
  // Evaluate what was stored, as the projector does (JSON round trip included).
  contacts = (await db.selectFrom('segment_contact_snapshots').selectAll().where('workspace_id', '=', 'ws').orderBy('contact_id').execute()).map(snapshotFromRow);
});
afterAll(() => db?.destroy());

async function selectedBySql(rule: Rule): Promise<string[]> {
  const rows = await db
    .selectFrom('segment_contact_snapshots as s')
    .select('s.contact_id')
    .where('s.workspace_id', '=', 'ws')
    .where('s.merged', '=', false)
    .where(compileRules(rule, NOW, 's'))
    .orderBy('s.contact_id')
    .execute();
  return rows.map((row) => row.contact_id);
}

function selectedByEvaluator(rule: Rule): string[] {
  return contacts.filter((c) => evaluate(rule, c, (segment) => memberships.get(segment)?.has(c.contactId) ?? false, NOW)).map((c) => c.contactId);
}

describe(`evaluator and SQL agree (seed ${SEED}; rerun with SEGMENT_PROPERTY_SEED=${SEED})`, () => {
  it('on every kind of leaf', async () => {
    const r = prng(SEED + 1);
    let nonEmpty = 0;
    for (let i = 0; i < 300; i++) {
      const rule = randomLeaf(r);
      const expected = selectedByEvaluator(rule);
      if (expected.length > 0) nonEmpty++;
      expect(await selectedBySql(rule), JSON.stringify(rule)).toEqual(expected);
    }
    expect(nonEmpty).toBeGreaterThan(150);
  });

  it('on random rule trees', async () => {
    const r = prng(SEED + 2);
    let nonTrivial = 0;
    for (let i = 0; i < 300; i++) {
      const rule = randomRule(r);
      const expected = selectedByEvaluator(rule);
      if (expected.length > 0 && expected.length < contacts.length) nonTrivial++;
      expect(await selectedBySql(rule), JSON.stringify(rule)).toEqual(expected);
    }
    expect(nonTrivial).toBeGreaterThan(50);
  });
});
