/** SDL of the audit slice (audit.ts). */

const AS_OF_FIELDS = /* GraphQL */ `
    "The instant asked for (null when asked by revision or version)."
    asOf: DateTime
    status: AsOfStatus!
    "Why the entity is null (NOT_YET_CREATED); null when FOUND."
    reason: String
    "When the stream's first event was recorded; set when NOT_YET_CREATED."
    createdAt: DateTime
    "The last event folded: revision, global position, time."
    revision: Int
    position: BigInt
    recordedAt: DateTime
    "The snapshot the fold started from (its revision); null: folded from the first event."
    snapshotRevision: Int
    "Events read and folded (after the snapshot, if any)."
    eventsFolded: Int!
`;

const EVENT_FIELDS = /* GraphQL */ `
    eventId: ID!
    type: String!
    streamId: String!
    revision: Int!
    position: BigInt!
    recordedAt: DateTime!
    "Who: apikey:<id>, cli:<user>, saga:launch, scheduler, ..."
    actor: String!
    commandId: String
    correlationId: String!
    causationId: String
    schemaVersion: Int!
    "The event's payload as stored (after upcasting; erased personal data comes out erased)."
    data: AuditJSON!
`;

export const AUDIT_TYPE_DEFS = /* GraphQL */ `
  "Any JSON value."
  scalar AuditJSON

  enum AsOfStatus {
    "The entity existed at that moment."
    FOUND
    "The moment is before the stream's first event: the entity field is null, reason and createdAt say why."
    NOT_YET_CREATED
  }

  "A campaign as its stream said, folded with the domain's evolve."
  type CampaignAtTime {
    id: ID!
    status: CampaignStatus!
    name: String!
    sender: Sender
    replyTo: String
    segmentId: ID
    templateId: ID
    templateVersion: Int
    topic: String
    variants: CampaignVariants
    winner: CampaignWinner
    scheduledAt: DateTime
    timeZone: String
    launchedAt: DateTime
    launchedBy: String
    pausedAt: DateTime
    completedAt: DateTime
    cancelledAt: DateTime
    failedAt: DateTime
    endReason: String
    "The whole folded state as JSON."
    state: AuditJSON!
  }

  type CampaignAsOf {
    campaignId: ID!
    ${AS_OF_FIELDS}
    campaign: CampaignAtTime
  }

  type ContactConsentAtTime { topic: String! status: ConsentStatus! source: String consentTextVersion: String at: DateTime! }
  type ContactSuppressionAtTime { reason: SuppressionReason! at: DateTime! }

  type ContactAtTime {
    id: ID!
    "ACTIVE, MERGED (see mergedInto) or ERASED; only ACTIVE has data."
    status: String!
    mergedInto: ID
    email: String
    externalId: String
    phone: String
    attributes: [ContactAttribute!]!
    tags: [String!]!
    consents: [ContactConsentAtTime!]!
    suppression: ContactSuppressionAtTime
    state: AuditJSON!
  }

  type ContactAsOf {
    contactId: ID!
    ${AS_OF_FIELDS}
    contact: ContactAtTime
  }

  type TemplateAtTime {
    id: ID!
    name: String!
    "ACTIVE or ARCHIVED"
    status: String!
    version: Int!
    subject: String!
    html: String!
    text: String
    state: AuditJSON!
  }

  type TemplateAsOf {
    templateId: ID!
    ${AS_OF_FIELDS}
    template: TemplateAtTime
  }

  type SegmentAtTime {
    id: ID!
    name: String!
    "ACTIVE or DELETED"
    status: String!
    version: Int!
    description: String
    rules: SegmentRules
    state: AuditJSON!
  }

  type SegmentMemberAtTime {
    contactId: ID!
    "When the contact entered (the time of the event that made it a member) and that event's position."
    enteredAt: DateTime!
    enteredPosition: BigInt!
  }
  type SegmentMemberAtTimeEdge { cursor: String! node: SegmentMemberAtTime! }
  type SegmentMemberAtTimeConnection { edges: [SegmentMemberAtTimeEdge!]! pageInfo: PageInfo! }

  type SegmentMembersAsOf {
    segmentId: ID!
    ${AS_OF_FIELDS}
    segment: SegmentAtTime
    "Members at asOf, from the membership history (recorded since migration 011_temporal, or a rebuild of the segments projection)."
    memberCount: Int!
    members(first: Int = 50, after: String): SegmentMemberAtTimeConnection!
  }

  "One stored event with its envelope."
  type AuditEvent {
    ${EVENT_FIELDS}
  }

  "What one event changed in the folded state."
  type StateChange {
    "Field path in the folded state, e.g. settings.sender.email or variants.variants[1].splitPercent."
    path: String!
    "null: the field did not exist."
    before: AuditJSON
    after: AuditJSON
  }

  type CampaignHistoryEntry {
    ${EVENT_FIELDS}
    changes: [StateChange!]!
  }
  type CampaignHistoryEdge { cursor: String! node: CampaignHistoryEntry! }
  type CampaignHistoryConnection { edges: [CampaignHistoryEdge!]! pageInfo: PageInfo! }

  enum DeliveryOutcome { SENT BOUNCED COMPLAINED FAILED RENDER_FAILED }

  "The email re-rendered from the pinned versions with the contact's data as of the send time."
  type EmailVerification {
    "The re-rendered hash equals the recorded contentHash (and the subject the recorded subject)."
    matches: Boolean!
    rerenderedHash: String
    subject: String
    html: String
    text: String
    "The contact stream revision rendered (the newest at the send time, or up to 4 older ones when the saga rendered from a read model that trailed it)."
    contactRevision: Int
    "Why it does not match or could not be re-rendered."
    reason: String
  }

  "One campaign's email to one contact, from its email stream."
  type EmailDelivery {
    campaignId: ID!
    contactId: ID!
    email: String
    outcome: DeliveryOutcome!
    failureReason: String
    "When it was sent (or failed)."
    at: DateTime!
    variantKey: String
    messageId: String
    "The campaign revision the launch was decided at; campaignAsOf(id, revision) shows it."
    campaignRevision: Int
    templateId: ID
    templateVersion: Int
    "The rendered subject as sent."
    subject: String
    "sha256 (hex) of the rendered subject, html and text."
    contentHash: String
    sentAt: DateTime
    "Global position of the EmailSent event."
    sentPosition: BigInt
    opens: Int!
    clicks: Int!
    "Every event of the email stream: sent, failed, bounced, opened, clicked."
    events: [AuditEvent!]!
    "The campaign as of sentAt."
    campaignAtSend: CampaignAsOf
    "The contact as of sentAt."
    contactAtSend: ContactAsOf
    "Null when nothing was sent."
    verification: EmailVerification
  }

  extend type Query {
    """
    The campaign folded up to asOf (events recorded at or before it) and/or a revision (inclusive). Before its first
    event: status NOT_YET_CREATED, campaign null. Unknown campaign: NOT_FOUND; a revision beyond its last: BAD_USER_INPUT.
    """
    campaignAsOf(id: ID!, asOf: DateTime, revision: Int): CampaignAsOf!
    "The contact folded up to asOf (NOT_YET_CREATED before its first event; NOT_FOUND if unknown)."
    contactAsOf(id: ID!, asOf: DateTime!): ContactAsOf!
    "Exactly one of version (unknown version: BAD_USER_INPUT) and asOf."
    templateAsOf(id: ID!, version: Int, asOf: DateTime): TemplateAsOf!
    "Who was in the segment at asOf, and its definition then."
    segmentMembersAsOf(id: ID!, asOf: DateTime!): SegmentMembersAsOf!
    "Every event of the campaign's stream, oldest first, with its envelope and what it changed in the folded state."
    campaignHistory(id: ID!, first: Int = 50, after: String): CampaignHistoryConnection!
    "Every campaign email of the contact, newest first."
    emailsSent(contactId: ID!): [EmailDelivery!]!
    "One campaign's email to one contact; null when there is none."
    delivery(campaignId: ID!, contactId: ID!): EmailDelivery
  }
`;
