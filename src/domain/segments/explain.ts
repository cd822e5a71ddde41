import { attributeOf, leafMatches, subscriptionStatus, type ContactSnapshot, type MembershipOf } from './evaluate.js';
import type { Rule } from './rules.js';

/** Why a contact is in or out of a segment: the rule tree with each node's result and a readable reason. */
export interface RuleExplanation {
  /** Where the node sits in the rules, e.g. `rules.all[1]`. */
  readonly path: string;
  readonly rule: Rule;
  readonly result: boolean;
  readonly detail: string;
  readonly children: readonly RuleExplanation[];
}

/** Evaluates like `evaluate` (same results), keeping every node's result and the contact's values it used. */
export function explain(rule: Rule, contact: ContactSnapshot, membershipOf: MembershipOf, now: Date, path = 'rules'): RuleExplanation {
  if (contact.merged) {
    return { path, rule, result: false, detail: 'the contact was merged into another contact, so it is in no segment', children: [] };
  }
  return explainNode(rule, contact, membershipOf, now, path);
}

function explainNode(rule: Rule, contact: ContactSnapshot, membershipOf: MembershipOf, now: Date, path: string): RuleExplanation {
  if ('all' in rule || 'any' in rule) {
    const kind = 'all' in rule ? 'all' : 'any';
    const list = 'all' in rule ? rule.all : rule.any;
    const children = list.map((child, i) => explainNode(child, contact, membershipOf, now, `${path}.${kind}[${i}]`));
    const passed = children.filter((c) => c.result).length;
    const result = kind === 'all' ? passed === children.length : passed > 0;
    const need = kind === 'all' ? 'all must match' : 'at least one must match';
    return { path, rule, result, detail: `${passed} of ${children.length} rules match (${need})`, children };
  }
  if ('not' in rule) {
    const child = explainNode(rule.not, contact, membershipOf, now, `${path}.not`);
    return { path, rule, result: !child.result, detail: child.result ? 'the negated rule matches' : 'the negated rule does not match', children: [child] };
  }
  const result = leafMatches(rule, contact, membershipOf, now);
  return { path, rule, result, detail: describeLeaf(rule, contact, membershipOf), children: [] };
}

function describeLeaf(rule: Exclude<Rule, { all: unknown } | { any: unknown } | { not: unknown }>, contact: ContactSnapshot, membershipOf: MembershipOf): string {
  if ('attribute' in rule) {
    const attribute = attributeOf(contact, rule.attribute);
    if (attribute === undefined) return `the contact has no attribute "${rule.attribute}"`;
    const shown = `the contact's ${attribute.type} attribute "${rule.attribute}" is ${JSON.stringify(attribute.value)}`;
    if (rule.op === 'exists') return shown;
    if (attribute.type !== rule.type) return `${shown}, but the rule compares it as ${rule.type}`;
    return `${shown}; rule: ${rule.op}${rule.value === undefined ? '' : ` ${JSON.stringify(rule.value)}`}`;
  }
  if ('email' in rule) return `the contact's email is ${contact.email}; rule: ${rule.email.op} ${JSON.stringify(rule.email.value)}`;
  if ('tag' in rule) return contact.tags.includes(rule.tag) ? `the contact is tagged "${rule.tag}"` : `the contact is not tagged "${rule.tag}" (tags: ${contact.tags.join(', ') || 'none'})`;
  if ('subscribed' in rule || 'unsubscribed' in rule) {
    const topic = 'subscribed' in rule ? rule.subscribed : rule.unsubscribed;
    const status = subscriptionStatus(contact, topic);
    return status === null ? `the contact never subscribed to "${topic}"` : `the contact is ${status} to "${topic}" since ${contact.subscriptions[topic]!.at}`;
  }
  if ('suppressed' in rule) return contact.suppressed ? 'the contact is suppressed' : 'the contact is not suppressed';
  if ('inSegment' in rule) return membershipOf(rule.inSegment) ? `the contact is a member of segment ${rule.inSegment}` : `the contact is not a member of segment ${rule.inSegment}`;
  return 'engagement rules match no one until campaign events exist';
}
