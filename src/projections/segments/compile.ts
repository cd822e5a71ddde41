import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { lastDaysWindow, toInstant } from '../../domain/segments/dates.js';
import { emailOperand } from '../../domain/segments/evaluate.js';
import type { AttributeRule, Rule } from '../../domain/segments/rules.js';

/**
 * Compiles segment rules to a boolean SQL expression over `segment_contact_snapshots` (aliased `alias`), for
 * set-based evaluation. It answers exactly as `evaluate` does (src/domain/segments/evaluate.ts), which
 * test/projections/segments/agreement.test.ts checks on random contacts and rules. The caller adds
 * `NOT <alias>.merged` and the workspace.
 *
 * Every leaf is NOT NULL (so `NOT` is exact). Equality and membership leaves use containment (`@>`, `?`), which
 * the GIN indexes serve; ordered comparisons read the value behind a type check (CASE, because SQL does not
 * promise to evaluate AND left to right, and a cast of another type's value would fail).
 */
export function compileRules(rule: Rule, now: Date, alias = 's'): RawBuilder<SqlBool> {
  const column = (name: string) => sql.ref(`${alias}.${name}`);
  const compile = (node: Rule): RawBuilder<SqlBool> => {
    if ('all' in node) return node.all.length === 0 ? sql<SqlBool>`true` : sql<SqlBool>`(${sql.join(node.all.map(compile), sql` AND `)})`;
    if ('any' in node) return node.any.length === 0 ? sql<SqlBool>`false` : sql<SqlBool>`(${sql.join(node.any.map(compile), sql` OR `)})`;
    if ('not' in node) return sql<SqlBool>`(NOT ${compile(node.not)})`;
    if ('attribute' in node) return compileAttribute(node, column('attributes'), now);
    if ('email' in node) {
      const operand = emailOperand(node.email.value);
      if (node.email.op === 'eq') return sql<SqlBool>`(${column('email')} = ${operand})`;
      if (node.email.op === 'ends_with') return sql<SqlBool>`(right(${column('email')}, char_length(${operand}::text)) = ${operand}::text)`;
      return sql<SqlBool>`(strpos(${column('email')}, ${operand}::text) > 0)`;
    }
    if ('tag' in node) return sql<SqlBool>`(${column('tags')} @> ARRAY[${node.tag}::text])`;
    if ('subscribed' in node) return contains(column('subscriptions'), { [node.subscribed]: { status: 'subscribed' } });
    if ('unsubscribed' in node) return contains(column('subscriptions'), { [node.unsubscribed]: { status: 'unsubscribed' } });
    if ('suppressed' in node) return sql<SqlBool>`(${column('suppressed')} = ${node.suppressed})`;
    if ('inSegment' in node) {
      return sql<SqlBool>`(EXISTS (SELECT 1 FROM segment_memberships ism WHERE ism.workspace_id = ${column('workspace_id')} AND ism.segment_id = ${node.inSegment} AND ism.contact_id = ${column('contact_id')}))`;
    }
    return sql<SqlBool>`false`; // engagement: no campaign events yet
  };
  return compile(rule);
}

type Ref = ReturnType<typeof sql.ref>;

function contains(column: Ref, value: unknown): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${column} @> ${JSON.stringify(value)}::jsonb)`;
}

const ORDER_OPERATORS: Readonly<Partial<Record<AttributeRule['op'], string>>> = { gt: '>', gte: '>=', lt: '<', lte: '<=', after: '>', before: '<' };

function compileAttribute(rule: AttributeRule, attributes: Ref, now: Date): RawBuilder<SqlBool> {
  const key = rule.attribute;
  const typed = (value?: unknown) => ({ [key]: value === undefined ? { type: rule.type } : { type: rule.type, value } });
  const equal = (value: unknown) => contains(attributes, typed(value));
  const notEqual = (value: unknown) => sql<SqlBool>`(${contains(attributes, typed())} AND NOT ${equal(value)})`;
  const whenTyped = (jsonType: 'number' | 'string', test: RawBuilder<SqlBool>) =>
    sql<SqlBool>`(CASE WHEN ${attributes}->${key}->>'type' = ${rule.type} AND jsonb_typeof(${attributes}->${key}->'value') = ${jsonType} THEN ${test} ELSE false END)`;
  const text = sql`(${attributes}->${key}->>'value')`;

  if (rule.op === 'exists') return sql<SqlBool>`(${attributes} ? ${key})`;
  if (rule.type === 'list') return equal([rule.value]);
  if (rule.type === 'string' && rule.op === 'contains') return whenTyped('string', sql<SqlBool>`strpos(${text}, ${String(rule.value)}::text) > 0`);
  if (rule.type === 'date') {
    if (rule.op === 'within_last_days') {
      const window = lastDaysWindow(now, rule.value as number);
      return whenTyped('string', sql<SqlBool>`(${text} COLLATE "C" >= ${window.from}::text AND ${text} COLLATE "C" <= ${window.to}::text)`);
    }
    const operand = toInstant(String(rule.value));
    if (operand === null) return sql<SqlBool>`false`;
    if (rule.op === 'eq') return equal(operand);
    if (rule.op === 'neq') return notEqual(operand);
    return whenTyped('string', sql<SqlBool>`${text} COLLATE "C" ${sql.raw(ORDER_OPERATORS[rule.op]!)} ${operand}::text`);
  }
  if (rule.op === 'eq') return equal(rule.value);
  if (rule.op === 'neq') return notEqual(rule.value);
  // number: gt, gte, lt, lte
  return whenTyped('number', sql<SqlBool>`${text}::numeric ${sql.raw(ORDER_OPERATORS[rule.op]!)} ${String(rule.value)}::numeric`);
}
