/** SDL of the contacts slice (contacts.ts). */
export const CONTACTS_TYPE_DEFS = /* GraphQL */ `
  "A string, number, boolean or list of strings: the value of a typed attribute."
  scalar AttributeData
  enum AttributeType { STRING NUMBER BOOLEAN DATE LIST }
  enum ContactStatus { ACTIVE MERGED }
  enum ConsentStatus { SUBSCRIBED UNSUBSCRIBED }
  enum SuppressionReason { HARD_BOUNCE COMPLAINT MANUAL }
  "EQ/NEQ: equal (NEQ also matches contacts without it); GT/LT: numbers numerically, strings and dates as text (ISO order); CONTAINS: a list item or a substring; EXISTS: has the attribute."
  enum AttributeOp { EQ NEQ GT LT CONTAINS EXISTS }

  "Dates are ISO 8601: 2024-05-01, or a date-time with offset (stored in UTC)."
  type ContactAttribute { key: String! type: AttributeType! value: AttributeData! }
  "The current consent for one topic; the full history is in the contact's events."
  type Consent { topic: String! status: ConsentStatus! source: String! consentTextVersion: String reason: String at: DateTime! changedAt: DateTime! }
  type Suppression { contactId: ID! email: String! reason: SuppressionReason! detail: String at: DateTime! }
  type Contact {
    id: ID!
    "Normalized: trimmed, NFC, lower-case, IDN domain in ASCII. The identity, unique in the workspace."
    email: String!
    emailAsGiven: String!
    externalId: String
    "E.164"
    phone: String
    attributes: [ContactAttribute!]!
    tags: [String!]!
    status: ContactStatus!
    mergedInto: ID
    suppressed: Boolean!
    suppression: Suppression
    consents: [Consent!]!
    source: String!
    createdAt: DateTime!
    updatedAt: DateTime!
  }
  type ContactEdge { cursor: String! node: Contact! }
  type ContactConnection { edges: [ContactEdge!]! pageInfo: PageInfo! }
  type SuppressionEdge { cursor: String! node: Suppression! }
  type SuppressionConnection { edges: [SuppressionEdge!]! pageInfo: PageInfo! }
  "The workspace's contact schema: a key keeps the type of its first use."
  type ContactAttributeKey { key: String! type: AttributeType! firstSeenAt: DateTime! }

  input AttributeCondition { key: String! op: AttributeOp! value: AttributeData }
  "status defaults to ACTIVE; email is normalized before matching."
  input ContactFilter { email: String tag: String attribute: AttributeCondition subscribedTo: String suppressed: Boolean status: ContactStatus }
  input AttributeInput { key: String! type: AttributeType! value: AttributeData! }
  input SubscriptionInput { topic: String! consentTextVersion: String! source: String }
  input CreateContactInput { email: String! externalId: String phone: String attributes: [AttributeInput!] tags: [String!] subscriptions: [SubscriptionInput!] source: String }
  "A value (with its type) sets the attribute; no value removes it."
  input AttributeChangeInput { key: String! type: AttributeType value: AttributeData }
  "phone/externalId: absent = unchanged, null = cleared."
  input UpdateContactAttributesInput { contactId: ID! changes: [AttributeChangeInput!] phone: String externalId: String }
  input TagContactInput { contactId: ID! tags: [String!]! }
  input SubscribeContactInput { contactId: ID! topic: String! consentTextVersion: String! source: String }
  input UnsubscribeContactInput { contactId: ID! topic: String! source: String reason: String }
  input SuppressContactInput { contactId: ID! reason: SuppressionReason! detail: String }
  input UnsuppressContactInput { contactId: ID! detail: String }

  "contact: the contact once the read model has applied this command (waits up to 5 s, else READ_MODEL_BEHIND)."
  type CreateContactPayload { receipt: CommandReceipt! contactId: ID! "false: the email already was a contact (or merged into contactId)." created: Boolean! contact: Contact }
  type ContactPayload { receipt: CommandReceipt! contactId: ID! contact: Contact }

  extend type Query {
    "Active contacts by default, oldest first."
    contacts(first: Int = 50, after: String, filter: ContactFilter, consistentWith: BigInt): ContactConnection!
    contact(id: ID!, consistentWith: BigInt): Contact!
    "The suppression list: contacts that must not be emailed."
    suppressions(first: Int = 50, after: String, consistentWith: BigInt): SuppressionConnection!
    contactAttributeKeys(consistentWith: BigInt): [ContactAttributeKey!]!
  }

  extend type Mutation {
    "Creates a contact, or returns the existing one with that email (created: false)."
    createContact(input: CreateContactInput!, commandId: String): CreateContactPayload!
    updateContactAttributes(input: UpdateContactAttributesInput!, commandId: String): ContactPayload!
    tagContact(input: TagContactInput!, commandId: String): ContactPayload!
    untagContact(input: TagContactInput!, commandId: String): ContactPayload!
    subscribeContact(input: SubscribeContactInput!, commandId: String): ContactPayload!
    unsubscribeContact(input: UnsubscribeContactInput!, commandId: String): ContactPayload!
    suppressContact(input: SuppressContactInput!, commandId: String): ContactPayload!
    unsuppressContact(input: UnsuppressContactInput!, commandId: String): ContactPayload!
  }
`;
