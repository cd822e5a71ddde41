/**
 * Every domain event type, by stream category: the source of the published event documentation
 * (docs/events.schema.json, docs/asyncapi.yaml — `npm run docs` regenerates them; a test fails when they drift).
 */
import type { CampaignEvent } from './campaigns/events.js';
import type { ContactEvent } from './contacts/events.js';
import type { EmailEvent } from './deliveries/events.js';
import type { TemplateEvent } from './templates/events.js';
import type { LaunchEvent } from './launches/events.js';
import type { SegmentEvent } from './segments/events.js';

export type { CampaignEvent, ContactEvent, EmailEvent, LaunchEvent, SegmentEvent, TemplateEvent };

/** Published subjects: `<prefix>.events.<category>.<streamId>.<EventType>`. */
export const EVENT_CATEGORIES = {
  contact: { union: 'ContactEvent', stream: 'contact-<contactId>', description: 'A contact: identity, attributes, tags, consent, suppression, merges.' },
  template: { union: 'TemplateEvent', stream: 'template-<templateId>', description: 'An email template; every change is a new version.' },
  campaign: { union: 'CampaignEvent', stream: 'campaign-<campaignId>', description: 'A campaign: settings, A/B variants, schedule and lifecycle.' },
  segment: { union: 'SegmentEvent', stream: 'segment-<segmentId>', description: 'A segment: name and versioned rules (membership is a read model).' },
  launch: { union: 'LaunchEvent', stream: 'launch-<campaignId>', description: 'The launch saga of a campaign: preflight, frozen audience, delivery, pause, completion or compensation.' },
  email: { union: 'EmailEvent', stream: 'email-<campaignId>_<contactId>', description: 'One recipient of one campaign: what was sent, delivery outcome, engagement.' },
} as const;

export type DomainEventEnvelopeData = ContactEvent | SegmentEvent | TemplateEvent | CampaignEvent | LaunchEvent | EmailEvent;
