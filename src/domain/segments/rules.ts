import type { AttributeType } from '../contacts/events.js';
import { ValidationError } from '../shared/errors.js';
import { isIsoDate } from './dates.js';

/**
 * The segment rule language: a JSON tree of groups (`all`, `any`, `not`) over leaves. See README "Segments".
 * `validateRules` checks a client's tree on save and returns it in canonical form (attribute leaves gain the
 * `type` of their attribute), or throws a ValidationError whose `field` is the path (`rules.all[2].value`).
 */

export const ATTRIBUTE_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists', 'before', 'after', 'within_last_days'] as const;
export type AttributeOp = (typeof ATTRIBUTE_OPS)[number];

/** Which operators each attribute type allows. */
export const OPS_BY_TYPE: Readonly<Record<AttributeType, readonly AttributeOp[]>> = {
  string: ['eq', 'neq', 'contains', 'exists'],
  number: ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'exists'],
  boolean: ['eq', 'neq', 'exists'],
  date: ['eq', 'neq', 'before', 'after', 'within_last_days', 'exists'],
  list: ['contains', 'exists'],
};

export const EMAIL_OPS = ['eq', 'ends_with', 'contains'] as const;
export type EmailOp = (typeof EMAIL_OPS)[number];
export const ENGAGEMENT_EVENTS = ['opened', 'clicked'] as const;

export interface AttributeRule {
  readonly attribute: string;
  readonly op: AttributeOp;
  /** Absent for `exists`; a day count for `within_last_days`. */
  readonly value?: string | number | boolean;
  /** The attribute's type when the rule was saved (from the workspace's attribute keys). */
  readonly type: AttributeType;
}
export interface EmailRule { readonly email: { readonly op: EmailOp; readonly value: string } }
export interface TagRule { readonly tag: string }
export interface SubscribedRule { readonly subscribed: string }
export interface UnsubscribedRule { readonly unsubscribed: string }
export interface SuppressedRule { readonly suppressed: boolean }
export interface InSegmentRule { readonly inSegment: string }
/** Validated now; evaluates to false until campaign events exist. */
export interface EngagementRule {
  readonly engagement: { readonly event: (typeof ENGAGEMENT_EVENTS)[number]; readonly campaignId?: string; readonly withinDays: number };
}
export interface AllRule { readonly all: readonly Rule[] }
export interface AnyRule { readonly any: readonly Rule[] }
export interface NotRule { readonly not: Rule }

export type Rule =
  | AllRule | AnyRule | NotRule
  | AttributeRule | EmailRule | TagRule | SubscribedRule | UnsubscribedRule | SuppressedRule | InSegmentRule | EngagementRule;

/** What validation needs to know about another segment. */
export interface SegmentReference {
  readonly status: 'active' | 'deleted';
  /** The segments its rules name in `inSegment`. */
  readonly dependsOn: readonly string[];
}

export interface RuleValidationContext {
  /** The segment whose rules these are (a reference back to it is a cycle). */
  readonly segmentId: string;
  readonly attributeTypes: ReadonlyMap<string, AttributeType>;
  /** Every segment reachable from the rules' `inSegment` leaves, transitively; absent = does not exist. */
  readonly segments: ReadonlyMap<string, SegmentReference>;
}

export const SEGMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
export const MAX_RULE_DEPTH = 10;
export const MAX_RULE_NODES = 500;
const MAX_TEXT = 1_000;
const MAX_DAYS = 36_500;

export function validateRules(raw: unknown, context: RuleValidationContext, path = 'rules'): Rule {
  const budget = { nodes: 0 };
  return validateNode(raw, context, path, 1, budget);
}

type Budget = { nodes: number };

function validateNode(raw: unknown, context: RuleValidationContext, path: string, depth: number, budget: Budget): Rule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(path, 'must be a rule object');
  if (depth > MAX_RULE_DEPTH) fail(path, `nests deeper than ${MAX_RULE_DEPTH} levels`);
  if (++budget.nodes > MAX_RULE_NODES) fail(path, `makes the rules longer than ${MAX_RULE_NODES} nodes`);
  const node = raw as Record<string, unknown>;
  if ('attribute' in node) return validateAttribute(node, context, path);
  const keys = Object.keys(node);
  if (keys.length !== 1) {
    fail(path, keys.length === 0 ? 'is empty; expected one of all, any, not, attribute, email, tag, subscribed, unsubscribed, suppressed, inSegment, engagement' : `has several kinds (${keys.join(', ')}); use all/any to combine them`);
  }
  const kind = keys[0]!;
  const value = node[kind];
  const at = `${path}.${kind}`;
  switch (kind) {
    case 'all':
    case 'any': {
      if (!Array.isArray(value)) fail(at, 'must be a list of rules');
      const children = value.map((child, i) => validateNode(child, context, `${at}[${i}]`, depth + 1, budget));
      return kind === 'all' ? { all: children } : { any: children };
    }
    case 'not':
      return { not: validateNode(value, context, at, depth + 1, budget) };
    case 'email':
      return { email: validateEmail(value, at) };
    case 'tag':
      return { tag: text(value, at) };
    case 'subscribed':
      return { subscribed: text(value, at) };
    case 'unsubscribed':
      return { unsubscribed: text(value, at) };
    case 'suppressed':
      if (typeof value !== 'boolean') fail(at, 'must be true or false');
      return { suppressed: value };
    case 'inSegment':
      return { inSegment: validateSegmentReference(value, context, at) };
    case 'engagement':
      return { engagement: validateEngagement(value, at) };
    default:
      return fail(at, 'is not a rule kind; expected one of all, any, not, attribute, email, tag, subscribed, unsubscribed, suppressed, inSegment, engagement');
  }
}

function validateAttribute(node: Record<string, unknown>, context: RuleValidationContext, path: string): AttributeRule {
  for (const key of Object.keys(node)) {
    if (!['attribute', 'op', 'value', 'type'].includes(key)) fail(`${path}.${key}`, 'is not allowed in an attribute rule (attribute, op, value)');
  }
  const attribute = text(node.attribute, `${path}.attribute`, 200);
  const type = context.attributeTypes.get(attribute);
  if (type === undefined) fail(`${path}.attribute`, `names the attribute "${attribute}", which this workspace does not have`);
  if (node.type !== undefined && node.type !== type) fail(`${path}.type`, `is "${String(node.type)}" but the attribute "${attribute}" is of type ${type}`);
  const op = node.op;
  if (typeof op !== 'string' || !(ATTRIBUTE_OPS as readonly string[]).includes(op)) fail(`${path}.op`, `must be one of ${ATTRIBUTE_OPS.join(', ')}`);
  if (!OPS_BY_TYPE[type].includes(op as AttributeOp)) fail(`${path}.op`, `"${op}" does not apply to the ${type} attribute "${attribute}"; use one of ${OPS_BY_TYPE[type].join(', ')}`);
  const valuePath = `${path}.value`;
  if (op === 'exists') {
    if (node.value !== undefined) fail(valuePath, 'must be absent for exists (wrap the rule in not for "does not exist")');
    return { attribute, op, type };
  }
  return { attribute, op: op as AttributeOp, value: attributeValue(node.value, type, op as AttributeOp, valuePath), type };
}

function attributeValue(value: unknown, type: AttributeType, op: AttributeOp, path: string): string | number | boolean {
  if (op === 'within_last_days') return days(value, path);
  switch (type) {
    case 'string':
    case 'list':
      return text(value, path, MAX_TEXT, true);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'must be a finite number');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail(path, 'must be true or false');
      return value;
    case 'date':
      if (typeof value !== 'string' || !isIsoDate(value)) fail(path, 'must be an ISO-8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z');
      return value;
  }
}

function validateEmail(value: unknown, path: string): EmailRule['email'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be { op, value }');
  const { op, value: operand, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) fail(`${path}.${key}`, 'is not allowed (op, value)');
  if (typeof op !== 'string' || !(EMAIL_OPS as readonly string[]).includes(op)) fail(`${path}.op`, `must be one of ${EMAIL_OPS.join(', ')}`);
  return { op: op as EmailOp, value: text(operand, `${path}.value`, 320) };
}

function validateEngagement(value: unknown, path: string): EngagementRule['engagement'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be { event, campaignId?, withinDays }');
  const { event, campaignId, withinDays, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) fail(`${path}.${key}`, 'is not allowed (event, campaignId, withinDays)');
  if (typeof event !== 'string' || !(ENGAGEMENT_EVENTS as readonly string[]).includes(event)) fail(`${path}.event`, `must be one of ${ENGAGEMENT_EVENTS.join(', ')}`);
  const checked = { event: event as EngagementRule['engagement']['event'], withinDays: days(withinDays, `${path}.withinDays`) };
  return campaignId === undefined ? checked : { ...checked, campaignId: text(campaignId, `${path}.campaignId`, 200) };
}

function validateSegmentReference(value: unknown, context: RuleValidationContext, path: string): string {
  if (typeof value !== 'string' || !SEGMENT_ID.test(value)) fail(path, 'must be a segment id');
  if (value === context.segmentId) fail(path, 'refers to the segment itself (a cycle)');
  const target = context.segments.get(value);
  if (target === undefined) fail(path, `names the segment ${value}, which does not exist`);
  if (target.status === 'deleted') fail(path, `names the segment ${value}, which was deleted`);
  const cycle = pathBack(value, context);
  if (cycle !== null) fail(path, `makes a cycle of segment references: ${[context.segmentId, ...cycle].join(' → ')}`);
  return value;
}

/** The chain of references from `start` back to the segment being saved, or null when there is none. */
function pathBack(start: string, context: RuleValidationContext): string[] | null {
  const seen = new Set<string>();
  const visit = (id: string): string[] | null => {
    if (id === context.segmentId) return [id];
    if (seen.has(id)) return null;
    seen.add(id);
    const segment = context.segments.get(id);
    if (segment === undefined || segment.status !== 'active') return null;
    for (const next of segment.dependsOn) {
      const rest = visit(next);
      if (rest !== null) return [id, ...rest];
    }
    return null;
  };
  return visit(start);
}

function text(value: unknown, path: string, max = 200, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value.trim() === '')) fail(path, 'must be a non-empty string');
  if (value.length > max) fail(path, `must be at most ${max} characters`);
  if (value.includes('\u0000')) fail(path, 'must not contain NUL characters');
  return value;
}

function days(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_DAYS) fail(path, `must be a whole number of days from 1 to ${MAX_DAYS}`);
  return value;
}

function fail(path: string, problem: string): never {
  throw new ValidationError(`${path} ${problem}.`, path);
}

/** Segment ids named by `inSegment` anywhere in a tree (valid or not), to load them before validating. */
export function referencedSegments(raw: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown, depth: number): void => {
    if (depth > MAX_RULE_DEPTH + 1 || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) return node.forEach((child) => walk(child, depth + 1));
    const record = node as Record<string, unknown>;
    if (typeof record.inSegment === 'string') found.add(record.inSegment);
    for (const key of ['all', 'any', 'not']) if (key in record) walk(record[key], depth + 1);
  };
  walk(raw, 0);
  return [...found];
}
