import type { AttributeValue } from '../contacts/events.js';
import { lastDaysWindow, toInstant } from './dates.js';
import type { AttributeRule, EmailRule, Rule } from './rules.js';

/**
 * What segment rules are evaluated against: one contact as the membership projector keeps it. Date attributes
 * hold normalized instants (src/domain/segments/dates.ts); the email is the normalized (lower-case) one.
 */
export interface ContactSnapshot {
  readonly contactId: string;
  readonly email: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly tags: readonly string[];
  readonly subscriptions: Readonly<Record<string, { readonly status: 'subscribed' | 'unsubscribed'; readonly at: string }>>;
  readonly suppressed: boolean;
  /** Merged into another contact: in no segment. */
  readonly merged: boolean;
}

/** Whether the contact is a member of another segment (the projector answers from fresh memberships). */
export type MembershipOf = (segmentId: string) => boolean;

/**
 * Whether a contact matches a rule tree. The SQL compiler (src/projections/segments/compile.ts) gives the same
 * answer over the snapshot table; test/projections/segments/agreement.test.ts checks that on random data.
 *
 * - Every attribute operator but `exists` needs the attribute present with the rule's type; otherwise false
 *   (so `not` of a comparison matches contacts without the attribute).
 * - Strings compare case-sensitively; email rules compare with the lower-cased value (emails are normalized).
 * - `all: []` matches everyone, `any: []` no one. `engagement` is false until campaign events exist.
 */
export function evaluate(rule: Rule, contact: ContactSnapshot, membershipOf: MembershipOf, now: Date): boolean {
  if (contact.merged) return false;
  return matches(rule, contact, membershipOf, now);
}

function matches(rule: Rule, contact: ContactSnapshot, membershipOf: MembershipOf, now: Date): boolean {
  if ('all' in rule) return rule.all.every((child) => matches(child, contact, membershipOf, now));
  if ('any' in rule) return rule.any.some((child) => matches(child, contact, membershipOf, now));
  if ('not' in rule) return !matches(rule.not, contact, membershipOf, now);
  return leafMatches(rule, contact, membershipOf, now);
}

export function leafMatches(rule: Exclude<Rule, { all: unknown } | { any: unknown } | { not: unknown }>, contact: ContactSnapshot, membershipOf: MembershipOf, now: Date): boolean {
  if ('attribute' in rule) return attributeMatches(rule, contact, now);
  if ('email' in rule) return emailMatches(rule.email, contact.email);
  if ('tag' in rule) return contact.tags.includes(rule.tag);
  if ('subscribed' in rule) return subscriptionStatus(contact, rule.subscribed) === 'subscribed';
  if ('unsubscribed' in rule) return subscriptionStatus(contact, rule.unsubscribed) === 'unsubscribed';
  if ('suppressed' in rule) return contact.suppressed === rule.suppressed;
  if ('inSegment' in rule) return membershipOf(rule.inSegment);
  return false; // engagement: no campaign events yet
}

export function subscriptionStatus(contact: ContactSnapshot, topic: string): 'subscribed' | 'unsubscribed' | null {
  return Object.hasOwn(contact.subscriptions, topic) ? (contact.subscriptions[topic]?.status ?? null) : null;
}

/** A rule's email operand normalized like contact emails (src/domain/contacts/email.ts): trimmed, NFC, lower case. */
export function emailOperand(value: string): string {
  return value.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

function emailMatches(rule: EmailRule['email'], email: string): boolean {
  const operand = emailOperand(rule.value);
  if (rule.op === 'eq') return email === operand;
  if (rule.op === 'ends_with') return email.endsWith(operand);
  return email.includes(operand);
}

export function attributeOf(contact: ContactSnapshot, key: string): AttributeValue | undefined {
  return Object.hasOwn(contact.attributes, key) ? contact.attributes[key] : undefined;
}

function attributeMatches(rule: AttributeRule, contact: ContactSnapshot, now: Date): boolean {
  const attribute = attributeOf(contact, rule.attribute);
  if (rule.op === 'exists') return attribute !== undefined;
  if (attribute === undefined || attribute.type !== rule.type) return false;
  const operand = rule.value;
  switch (attribute.type) {
    case 'string':
      if (rule.op === 'contains') return attribute.value.includes(String(operand));
      return rule.op === 'eq' ? attribute.value === operand : attribute.value !== operand;
    case 'boolean':
      return rule.op === 'eq' ? attribute.value === operand : attribute.value !== operand;
    case 'list':
      return attribute.value.includes(String(operand));
    case 'number':
      return compare(attribute.value, rule.op, operand as number);
    case 'date':
      return dateMatches(attribute.value, rule, now);
  }
}

function compare<T extends number | string>(left: T, op: AttributeRule['op'], right: T): boolean {
  switch (op) {
    case 'eq': return left === right;
    case 'neq': return left !== right;
    case 'gt': case 'after': return left > right;
    case 'gte': return left >= right;
    case 'lt': case 'before': return left < right;
    case 'lte': return left <= right;
    default: return false;
  }
}

function dateMatches(value: string, rule: AttributeRule, now: Date): boolean {
  if (rule.op === 'within_last_days') {
    const window = lastDaysWindow(now, rule.value as number);
    return value >= window.from && value <= window.to;
  }
  const operand = toInstant(String(rule.value));
  return operand !== null && compare(value, rule.op, operand);
}
