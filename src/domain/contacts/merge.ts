import type { Decider } from '../shared/decider.js';
import { ContactErasedError, InvalidTransitionError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { AttributeValue, ContactAbsorbed, ContactEvent } from './events.js';
import { evolve } from './evolve.js';
import { initialContactState, type ActiveContact, type Consent, type ContactState } from './state.js';

/**
 * Merging a duplicate contact into a survivor: two events on two streams, each decided by a pure function that
 * sees both contacts.
 *
 * 1. The survivor's stream gets `ContactAbsorbed` (decideAbsorb): what it takes over from the duplicate.
 * 2. Then the duplicate's stream gets `ContactMerged` (decideMergedInto), its last event: every later command on
 *    it is refused by the contact aggregate (merged state), and a CreateContact of its email answers with the
 *    survivor. ContactMerged is only decided once the survivor has absorbed the duplicate, so the order holds
 *    even when a caller crashes between the two writes and retries.
 *
 * Attribute-precedence policy (applied by decideAbsorb; the event carries the result):
 * - An attribute, the phone and the external id: the survivor's non-empty value wins. Where the survivor's is
 *   empty (absent, null, a blank string or an empty list), the duplicate's non-empty value is taken if the
 *   duplicate set it more recently than the survivor last touched it; a survivor that cleared a value after the
 *   duplicate set it keeps it cleared. A value the survivor never had is always filled in.
 * - Tags: the union (the survivor's order, then the duplicate's new tags).
 * - Consent, per topic: the most recent decision of the two wins, so an unsubscribe newer than a subscribe stays
 *   (and a newer subscribe, with its consent text version and source, is taken over). On equal times an
 *   unsubscribe wins. The original time and source travel along: the consent record stays evidence.
 * - Suppression: the merged contact is suppressed if either was (the survivor's reason if it has one).
 */

export interface MergeContacts {
  readonly type: 'MergeContacts';
  readonly data: {
    readonly survivorId: string;
    readonly duplicateId: string;
    /** Why: 'manual', or the de-duplication rule that matched ('dedupe:phone', ...). */
    readonly rule: string;
    readonly at: string;
  };
}

/** A contact as a merge sees it: its state plus when each value the policy compares last changed. */
export interface MergeView {
  readonly state: ContactState;
  /** When each attribute key was last set or removed. */
  readonly attributeChangedAt: Readonly<Record<string, string>>;
  readonly phoneChangedAt: string | null;
  readonly externalIdChangedAt: string | null;
  /** Duplicates this contact has absorbed. */
  readonly absorbed: readonly string[];
}

export const initialMergeView = (): MergeView => ({
  state: initialContactState(),
  attributeChangedAt: {},
  phoneChangedAt: null,
  externalIdChangedAt: null,
  absorbed: [],
});

export function evolveMergeView(view: MergeView, event: ContactEvent): MergeView {
  const wasActive = view.state.status === 'active';
  const state = evolve(view.state, event);
  if (state === view.state) return view;
  const times = (keys: readonly string[], at: string) => ({ ...view.attributeChangedAt, ...Object.fromEntries(keys.map((k) => [k, at])) });
  switch (event.type) {
    case 'ContactCreated': {
      const { attributes, phone, externalId, createdAt } = event.data;
      if (wasActive) return { ...view, state };
      return {
        ...view,
        state,
        attributeChangedAt: times(Object.keys(attributes), createdAt),
        phoneChangedAt: phone === null ? null : createdAt,
        externalIdChangedAt: externalId === null ? null : createdAt,
      };
    }
    case 'ContactAttributesChanged': {
      const { changes, phone, externalId, changedAt } = event.data;
      return {
        ...view,
        state,
        attributeChangedAt: times(Object.keys(changes), changedAt),
        phoneChangedAt: phone === undefined ? view.phoneChangedAt : changedAt,
        externalIdChangedAt: externalId === undefined ? view.externalIdChangedAt : changedAt,
      };
    }
    case 'ContactAbsorbed': {
      const { attributes, phone, externalId, duplicateId, at } = event.data;
      return {
        ...view,
        state,
        attributeChangedAt: times(Object.keys(attributes), at),
        phoneChangedAt: phone === null ? view.phoneChangedAt : at,
        externalIdChangedAt: externalId === null ? view.externalIdChangedAt : at,
        absorbed: view.absorbed.includes(duplicateId) ? view.absorbed : [...view.absorbed, duplicateId],
      };
    }
    default:
      return { ...view, state };
  }
}

/** The survivor's side: `ContactAbsorbed`, or nothing when this merge already happened. */
export function decideAbsorb(command: MergeContacts, survivor: MergeView, duplicate: MergeView): ContactEvent[] {
  const { survivorId, duplicateId } = command.data;
  const { s, d } = requireBoth(command, survivor.state, duplicate.state);
  if (d.status === 'merged') return alreadyMergedInto(d.survivorId, survivorId);
  if (s.status === 'merged') throw new InvalidTransitionError('contact', 'merged', 'MergeContacts');
  // The first half of an earlier merge of this pair: the duplicate's side completes it.
  if (survivor.absorbed.includes(duplicateId)) return [];
  return [{ type: 'ContactAbsorbed', data: absorb(command, { view: survivor, contact: s }, { view: duplicate, contact: d }) }];
}

/** The duplicate's side: `ContactMerged`, once the survivor has absorbed it. */
export function decideMergedInto(command: MergeContacts, duplicate: MergeView, survivor: MergeView): ContactEvent[] {
  const { survivorId, duplicateId, rule, at } = command.data;
  const { s, d } = requireBoth(command, survivor.state, duplicate.state);
  if (d.status === 'merged') return alreadyMergedInto(d.survivorId, survivorId);
  if (s.status === 'merged') throw new InvalidTransitionError('contact', 'merged', 'MergeContacts');
  if (!survivor.absorbed.includes(duplicateId)) throw new InvalidTransitionError('contact', 'not yet absorbed by its survivor', 'MergeContacts');
  return [{ type: 'ContactMerged', data: { survivorId, rule, at } }];
}

function requireBoth(command: MergeContacts, survivor: ContactState, duplicate: ContactState) {
  const { survivorId, duplicateId } = command.data;
  if (survivorId === duplicateId) throw new ValidationError('a contact cannot be merged into itself', 'duplicateId');
  if (survivor.status === 'none') throw new NotFoundError('Survivor contact');
  if (duplicate.status === 'none') throw new NotFoundError('Duplicate contact');
  if (survivor.status === 'erased') throw new ContactErasedError(survivorId);
  if (duplicate.status === 'erased') throw new ContactErasedError(duplicateId);
  return { s: survivor, d: duplicate };
}

function alreadyMergedInto(actualSurvivor: string, survivorId: string): ContactEvent[] {
  if (actualSurvivor === survivorId) return [];
  throw new InvalidTransitionError('contact', 'merged', 'MergeContacts');
}

interface Side {
  readonly view: MergeView;
  readonly contact: ActiveContact;
}

function absorb(command: MergeContacts, survivor: Side, duplicate: Side): ContactAbsorbed['data'] {
  const s = survivor.contact;
  const d = duplicate.contact;
  const attributes: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(d.attributes)) {
    if (fills(s.attributes[key], value, survivor.view.attributeChangedAt[key], duplicate.view.attributeChangedAt[key])) attributes[key] = value;
  }
  const subscriptions: ContactAbsorbed['data']['subscriptions'][number][] = [];
  const unsubscriptions: ContactAbsorbed['data']['unsubscriptions'][number][] = [];
  for (const [topic, theirs] of Object.entries(d.consents)) {
    if (!consentWins(theirs, s.consents[topic])) continue;
    if (theirs.status === 'subscribed') subscriptions.push({ topic, source: theirs.source, consentTextVersion: theirs.consentTextVersion, at: theirs.at });
    else unsubscriptions.push({ topic, at: theirs.at });
  }
  return {
    duplicateId: command.data.duplicateId,
    duplicateEmail: d.email,
    attributes,
    tags: d.tags.filter((tag) => !s.tags.includes(tag)),
    subscriptions,
    unsubscriptions,
    suppression: s.suppression === null ? d.suppression : null,
    phone: fills(s.phone, d.phone, survivor.view.phoneChangedAt, duplicate.view.phoneChangedAt) ? d.phone : null,
    externalId: fills(s.externalId, d.externalId, survivor.view.externalIdChangedAt, duplicate.view.externalIdChangedAt) ? d.externalId : null,
    rule: command.data.rule,
    at: command.data.at,
  };
}

/** The duplicate's value fills the survivor's empty one, unless the survivor emptied it after the duplicate set it. */
function fills<T>(mine: T | null | undefined, theirs: T | null | undefined, mineAt: string | null | undefined, theirsAt: string | null | undefined): boolean {
  if (isEmpty(theirs) || !isEmpty(mine)) return false;
  if (mineAt == null) return true;
  return theirsAt != null && Date.parse(theirsAt) > Date.parse(mineAt);
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (typeof value === 'object' && 'type' in value && 'value' in value) return isEmpty((value as AttributeValue).value);
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** The most recent decision wins; on equal times an unsubscribe does. Taking over an identical record is no change. */
function consentWins(theirs: Consent, mine: Consent | undefined): boolean {
  if (mine === undefined) return true;
  const t = Date.parse(theirs.at);
  const m = Date.parse(mine.at);
  if (t < m || (t === m && !(theirs.status === 'unsubscribed' && mine.status === 'subscribed'))) return false;
  if (theirs.status !== mine.status) return true;
  return theirs.status === 'subscribed' && mine.status === 'subscribed' && theirs.consentTextVersion !== mine.consentTextVersion;
}

/** What each side's command handler gets: the merge and the other contact's view (loaded just before). */
export interface MergeSide {
  readonly merge: MergeContacts;
  readonly other: MergeView;
}

export const survivorSide: Decider<MergeSide, MergeView, ContactEvent> = {
  initialState: initialMergeView,
  evolve: evolveMergeView,
  decide: ({ merge, other }, survivor) => decideAbsorb(merge, survivor, other),
};

export const duplicateSide: Decider<MergeSide, MergeView, ContactEvent> = {
  initialState: initialMergeView,
  evolve: evolveMergeView,
  decide: ({ merge, other }, duplicate) => decideMergedInto(merge, duplicate, other),
};
