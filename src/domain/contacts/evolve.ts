import type { ContactEvent } from './events.js';
import type { ActiveContact, Consent, ContactState } from './state.js';

/** Folds one contact event into the state. Events that do not fit the state (never written by decide) are ignored. */
export function evolve(state: ContactState, event: ContactEvent): ContactState {
  if (event.type === 'ContactCreated') {
    if (state.status !== 'none') return state;
    const { contactId, email, externalId, phone, attributes, tags } = event.data;
    return { status: 'active', contactId, email, externalId, phone, attributes, tags, consents: {}, suppression: null };
  }
  if (event.type === 'ContactErased') return state.status === 'active' || state.status === 'merged' ? { status: 'erased', contactId: state.contactId } : state;
  if (state.status !== 'active') return state;
  return evolveActive(state, event);
}

function evolveActive(state: ActiveContact, event: Exclude<ContactEvent, { type: 'ContactCreated' | 'ContactErased' }>): ContactState {
  switch (event.type) {
    case 'ContactAttributesChanged': {
      const attributes = { ...state.attributes };
      for (const [key, value] of Object.entries(event.data.changes)) {
        if (value === null) delete attributes[key];
        else attributes[key] = value;
      }
      return {
        ...state,
        attributes,
        phone: event.data.phone === undefined ? state.phone : event.data.phone,
        externalId: event.data.externalId === undefined ? state.externalId : event.data.externalId,
      };
    }
    case 'ContactTagged':
      return state.tags.includes(event.data.tag) ? state : { ...state, tags: [...state.tags, event.data.tag] };
    case 'ContactUntagged':
      return { ...state, tags: state.tags.filter((tag) => tag !== event.data.tag) };
    case 'ContactSubscribed': {
      const { topic, consentTextVersion, source, at } = event.data;
      return { ...state, consents: { ...state.consents, [topic]: { status: 'subscribed', consentTextVersion, source, at } } };
    }
    case 'ContactUnsubscribed':
      return { ...state, consents: { ...state.consents, [event.data.topic]: { status: 'unsubscribed', at: event.data.at } } };
    case 'ContactSuppressed':
      return { ...state, suppression: { reason: event.data.reason, at: event.data.at } };
    case 'ContactUnsuppressed':
      return { ...state, suppression: null };
    case 'ContactMerged':
      return { status: 'merged', contactId: state.contactId, survivorId: event.data.survivorId };
    case 'ContactAbsorbed': {
      const { attributes, tags, subscriptions, unsubscriptions, suppression, phone, externalId } = event.data;
      const consents: Record<string, Consent> = { ...state.consents };
      for (const s of subscriptions) consents[s.topic] = { status: 'subscribed', consentTextVersion: s.consentTextVersion, source: s.source, at: s.at };
      for (const u of unsubscriptions) consents[u.topic] = { status: 'unsubscribed', at: u.at };
      return {
        ...state,
        attributes: { ...state.attributes, ...attributes },
        tags: [...new Set([...state.tags, ...tags])],
        consents,
        suppression: suppression ?? state.suppression,
        phone: phone ?? state.phone,
        externalId: externalId ?? state.externalId,
      };
    }
  }
}
