/**
 * Every domain event type, by stream category: the source of the published event documentation
 * (docs/events.schema.json, docs/asyncapi.yaml — `npm run docs` regenerates them; a test fails when they drift).
 */
import type { ContactEvent } from './contacts/events.js';
import type { EmailEvent } from './deliveries/events.js';

export type { ContactEvent, EmailEvent };

/** Published subjects: `<prefix>.events.<category>.<streamId>.<EventType>`. */
export const EVENT_CATEGORIES = {
  contact: { union: 'ContactEvent', stream: 'contact-<contactId>', description: 'A contact: identity, attributes, tags, consent, suppression, merges.' },
  email: { union: 'EmailEvent', stream: 'email-<campaignId>_<contactId>', description: 'One recipient of one campaign: what was sent, delivery outcome, engagement.' },
} as const;

export type DomainEventEnvelopeData = ContactEvent | EmailEvent;
