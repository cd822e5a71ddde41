import type { Decider } from '../shared/decider.js';
import { ContactErasedError, InvalidTransitionError, NotFoundError, ValidationError } from '../shared/errors.js';
import { SUPPRESSION_REASONS, type ContactCommand, type CreateContact, type EraseContact } from './commands.js';
import { normalizeEmail, normalizePhone } from './email.js';
import type { AttributeValue, ContactEvent, ContactSubscribed } from './events.js';
import { evolve } from './evolve.js';
import { initialContactState, type ActiveContact, type ContactState } from './state.js';
import {
  normalizeTags,
  normalizeTopic,
  parseAttributeChanges,
  parseAttributes,
  parseLabel,
  parseOptionalLabel,
  sameAttributeValue,
} from './validate.js';

/**
 * The contact aggregate's decisions. Repeating what is already true decides nothing (tagging a tagged contact,
 * subscribing to a topic already subscribed with the same consent text). CreateContact on an existing contact
 * is an idempotent no-op, also when the contact was merged away (the API then answers with the survivor).
 * Any other command needs an active contact: on none it is NOT_FOUND, on merged an INVALID_TRANSITION.
 */
export function decide(command: ContactCommand, state: ContactState): readonly ContactEvent[] {
  // An erased contact's id is derived from its email: creating it again would bring the person back.
  if (state.status === 'erased') {
    if (command.type === 'EraseContact') return [];
    throw new ContactErasedError(state.contactId);
  }
  if (command.type === 'CreateContact') return state.status === 'none' ? create(command) : [];
  if (state.status === 'none') throw new NotFoundError('Contact');
  // A merged duplicate still holds the person's data, so it can be erased (erasing its survivor does it too).
  if (command.type === 'EraseContact') return [{ type: 'ContactErased', data: { at: command.data.at } }];
  if (state.status === 'merged') throw new InvalidTransitionError('contact', 'merged', command.type);
  return decideActive(command, state);
}

function create({ data }: CreateContact): ContactEvent[] {
  const email = normalizeEmail(data.email);
  const subscriptions = new Map<string, ContactSubscribed>();
  data.subscriptions.forEach((s, i) => {
    const topic = normalizeTopic(s.topic, `subscriptions.${i}.topic`);
    const consentTextVersion = parseLabel(s.consentTextVersion, `subscriptions.${i}.consentTextVersion`);
    const source = parseLabel(s.source, `subscriptions.${i}.source`);
    if (!subscriptions.has(topic)) subscriptions.set(topic, { type: 'ContactSubscribed', data: { topic, source, consentTextVersion, at: data.at } });
  });
  return [
    {
      type: 'ContactCreated',
      data: {
        contactId: data.contactId,
        email,
        emailAsGiven: data.email.trim(),
        externalId: parseOptionalLabel(data.externalId, 'externalId'),
        phone: data.phone === null ? null : normalizePhone(data.phone),
        attributes: parseAttributes(data.attributes, 'attributes'),
        tags: normalizeTags(data.tags, 'tags'),
        source: parseLabel(data.source, 'source'),
        createdAt: data.at,
      },
    },
    ...subscriptions.values(),
  ];
}

function decideActive(command: Exclude<ContactCommand, CreateContact | EraseContact>, state: ActiveContact): ContactEvent[] {
  switch (command.type) {
    case 'UpdateContactAttributes': {
      const { data } = command;
      const changes: Record<string, AttributeValue | null> = {};
      for (const [key, value] of Object.entries(parseAttributeChanges(data.changes, 'changes'))) {
        if (value === null ? key in state.attributes : !sameAttributeValue(state.attributes[key], value)) changes[key] = value;
      }
      const phone = data.phone === undefined || data.phone === null ? data.phone : normalizePhone(data.phone);
      const externalId = data.externalId === undefined ? undefined : parseOptionalLabel(data.externalId, 'externalId');
      const phoneChanged = phone !== undefined && phone !== state.phone;
      const externalIdChanged = externalId !== undefined && externalId !== state.externalId;
      if (Object.keys(changes).length === 0 && !phoneChanged && !externalIdChanged) return [];
      return [
        {
          type: 'ContactAttributesChanged',
          data: { changes, ...(phoneChanged ? { phone } : {}), ...(externalIdChanged ? { externalId } : {}), changedAt: data.at },
        },
      ];
    }
    case 'TagContact': {
      const tags = requireTags(command.data.tags);
      return tags.filter((tag) => !state.tags.includes(tag)).map((tag) => ({ type: 'ContactTagged', data: { tag, at: command.data.at } }));
    }
    case 'UntagContact': {
      const tags = requireTags(command.data.tags);
      return tags.filter((tag) => state.tags.includes(tag)).map((tag) => ({ type: 'ContactUntagged', data: { tag, at: command.data.at } }));
    }
    case 'SubscribeContact': {
      const topic = normalizeTopic(command.data.topic, 'topic');
      const consentTextVersion = parseLabel(command.data.consentTextVersion, 'consentTextVersion');
      const source = parseLabel(command.data.source, 'source');
      const current = state.consents[topic];
      if (current?.status === 'subscribed' && current.consentTextVersion === consentTextVersion) return [];
      return [{ type: 'ContactSubscribed', data: { topic, source, consentTextVersion, at: command.data.at } }];
    }
    case 'UnsubscribeContact': {
      // An opt-out of a topic never subscribed is recorded too: it is the contact's explicit wish.
      const topic = normalizeTopic(command.data.topic, 'topic');
      const source = parseLabel(command.data.source, 'source');
      const reason = parseOptionalLabel(command.data.reason, 'reason', 1_000);
      if (state.consents[topic]?.status === 'unsubscribed') return [];
      const campaignId = command.data.campaignId ?? null;
      if (campaignId !== null && !UUID.test(campaignId)) throw new ValidationError('campaignId must be a campaign id (uuid)', 'campaignId');
      return [{ type: 'ContactUnsubscribed', data: { topic, source, campaignId, reason, at: command.data.at } }];
    }
    case 'SuppressContact': {
      const { reason, at } = command.data;
      if (!SUPPRESSION_REASONS.includes(reason)) throw new ValidationError(`reason must be one of ${SUPPRESSION_REASONS.join(', ')}`, 'reason');
      const detail = parseOptionalLabel(command.data.detail, 'detail', 1_000);
      if (state.suppression?.reason === reason) return [];
      return [{ type: 'ContactSuppressed', data: { reason, detail, at } }];
    }
    case 'UnsuppressContact': {
      const detail = parseOptionalLabel(command.data.detail, 'detail', 1_000);
      if (state.suppression === null) return [];
      return [{ type: 'ContactUnsuppressed', data: { detail, at: command.data.at } }];
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function requireTags(raw: readonly string[]): string[] {
  const tags = normalizeTags(raw, 'tags');
  if (tags.length === 0) throw new ValidationError('at least one tag is required', 'tags');
  return tags;
}

export const contactDecider: Decider<ContactCommand, ContactState, ContactEvent> = {
  initialState: initialContactState,
  evolve,
  decide,
};
