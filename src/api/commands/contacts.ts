import type { Kysely } from 'kysely';
import { SUPPRESSION_REASONS, type ContactCommand, type SubscriptionRequest } from '../../domain/contacts/commands.js';
import { contactDecider } from '../../domain/contacts/decide.js';
import { normalizeEmail, normalizePhone } from '../../domain/contacts/email.js';
import { contactStreamId, type AttributeValue, type SuppressionReason } from '../../domain/contacts/events.js';
import { contactIdFor, isContactId } from '../../domain/contacts/identity.js';
import {
  normalizeTags,
  normalizeTopic,
  parseAttributeChanges,
  parseAttributes,
  parseLabel,
  parseOptionalLabel,
} from '../../domain/contacts/validate.js';
import { ValidationError as DomainValidationError } from '../../domain/shared/errors.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import { ValidationError } from '../errors.js';
import { attributeTypesOf } from './attributeSchema.js';
import { defineCommand, type CommandDefinition, type CommandDeps, type CommandOutcome, type ExecutionContext } from './catalog.js';

/**
 * Commands of the contacts slice (GraphQL mutations and NATS request/reply). Inputs are JSON objects; field
 * errors name `input.<path>`. Every command re-decides safely after a conflict (its decision is made against
 * fresh state and repeating what is already true decides nothing), so all run with retriesOnConflict: 3.
 */

type Raw = Record<string, unknown>;
const RETRIES = { retriesOnConflict: 3 } as const;

/** Runs a parser, turning the domain's field errors into the API's, with `input.` paths. */
function parseInput<T>(raw: unknown, parse: (input: Raw) => T): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError('input', 'input must be an object.');
  try {
    return parse(raw as Raw);
  } catch (error) {
    if (error instanceof DomainValidationError) throw new ValidationError(error.field, `${error.field}: ${error.message}.`);
    throw error;
  }
}

function contactIdOf(input: Raw): string {
  if (!isContactId(input.contactId)) throw new ValidationError('input.contactId', 'contactId must be a contact id (uuid).');
  return input.contactId;
}

/** The contact schema: a key keeps the type of its first use in the workspace (contact_attribute_keys). */
async function assertSchemaTypes(db: Kysely<Database>, workspaceId: string, values: Readonly<Record<string, AttributeValue | null>>, field: string): Promise<void> {
  const given = Object.entries(values).filter((entry): entry is [string, AttributeValue] => entry[1] !== null);
  const known = await attributeTypesOf(db, workspaceId, given.map(([key]) => key));
  for (const [key, value] of given) {
    const type = known.get(key);
    if (type !== undefined && type !== value.type) {
      throw new ValidationError(`${field}.${key}`, `Attribute ${key} is a ${type} in this workspace's contact schema, not a ${value.type}.`);
    }
  }
}

/** Follows ContactMerged to the surviving contact (a few hops at most: survivors are rarely merged again). */
async function survivorOf(store: EventStore, contactId: string): Promise<string> {
  let current = contactId;
  for (let hop = 0; hop < 10; hop++) {
    const read = await store.readStream(contactStreamId(current), { direction: 'backwards', maxCount: 1 });
    const last = read.status === 'found' ? read.events[0] : undefined;
    if (last?.type !== 'ContactMerged') return current;
    current = (last.data as { survivorId: string }).survivorId;
  }
  return current;
}

async function onContact(deps: CommandDeps, contactId: string, command: ContactCommand, context: ExecutionContext): Promise<CommandOutcome> {
  const result = await handleCommand(deps.eventStore, contactDecider, contactStreamId(contactId), command, context, RETRIES);
  return { streamId: result.streamId, revision: result.revision, position: result.position, duplicate: result.duplicate, data: { contactId } };
}

export interface CreateContactInput {
  readonly email: string;
  readonly normalizedEmail: string;
  readonly externalId: string | null;
  readonly phone: string | null;
  readonly attributes: Record<string, AttributeValue>;
  readonly tags: string[];
  readonly subscriptions: SubscriptionRequest[];
  readonly source: string;
}

function parseSubscriptions(raw: unknown): SubscriptionRequest[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > 50) throw new ValidationError('input.subscriptions', 'subscriptions must be a list of at most 50.');
  return raw.map((s: unknown, i) => {
    const item = (typeof s === 'object' && s !== null ? s : {}) as Raw;
    const field = `input.subscriptions.${i}`;
    return {
      topic: normalizeTopic(item.topic, `${field}.topic`),
      consentTextVersion: parseLabel(item.consentTextVersion, `${field}.consentTextVersion`),
      source: parseLabel(item.source ?? 'api', `${field}.source`),
    };
  });
}

/**
 * Creates a contact, or returns the existing one: the contact id is derived from workspace and normalized email
 * (src/domain/contacts/identity.ts), so a second create of one email, also a concurrent one, lands on the same
 * stream and decides nothing. `data: { contactId, created }`; a merged contact answers with its survivor.
 */
export const CreateContact = defineCommand<CreateContactInput>({
  name: 'CreateContact',
  permission: 'write',
  parse: (raw) =>
    parseInput(raw, (input) => ({
      email: typeof input.email === 'string' ? input.email.trim() : '',
      normalizedEmail: normalizeEmail(input.email, 'input.email'),
      externalId: parseOptionalLabel(input.externalId, 'input.externalId'),
      phone: input.phone == null ? null : normalizePhone(input.phone, 'input.phone'),
      attributes: parseAttributes(input.attributes, 'input.attributes'),
      tags: normalizeTags(input.tags, 'input.tags'),
      subscriptions: parseSubscriptions(input.subscriptions),
      source: parseLabel(input.source ?? 'api', 'input.source'),
    })),
  async execute(deps, input, context) {
    await assertSchemaTypes(deps.db, context.workspaceId, input.attributes, 'input.attributes');
    const { normalizedEmail, ...data } = input;
    const contactId = contactIdFor(context.workspaceId, normalizedEmail);
    const command: ContactCommand = { type: 'CreateContact', data: { ...data, contactId, at: context.now.toISOString() } };
    const result = await handleCommand(deps.eventStore, contactDecider, contactStreamId(contactId), command, context, RETRIES);
    const created = result.events.some((e) => e.type === 'ContactCreated');
    return {
      streamId: result.streamId,
      revision: result.revision,
      position: result.position,
      duplicate: result.duplicate,
      data: { contactId: created ? contactId : await survivorOf(deps.eventStore, contactId), created },
    };
  },
});

export const UpdateContactAttributes = defineCommand<{ contactId: string; changes: Record<string, AttributeValue | null>; phone?: string | null; externalId?: string | null }>({
  name: 'UpdateContactAttributes',
  permission: 'write',
  parse: (raw) =>
    parseInput(raw, (input) => {
      const parsed = {
        contactId: contactIdOf(input),
        changes: parseAttributeChanges(input.changes, 'input.changes'),
        ...('phone' in input ? { phone: input.phone === null ? null : normalizePhone(input.phone, 'input.phone') } : {}),
        ...('externalId' in input ? { externalId: parseOptionalLabel(input.externalId, 'input.externalId') } : {}),
      };
      if (Object.keys(parsed.changes).length === 0 && !('phone' in parsed) && !('externalId' in parsed)) {
        throw new ValidationError('input.changes', 'Give at least one attribute change, phone or externalId.');
      }
      return parsed;
    }),
  async execute(deps, { contactId, ...data }, context) {
    await assertSchemaTypes(deps.db, context.workspaceId, data.changes, 'input.changes');
    return onContact(deps, contactId, { type: 'UpdateContactAttributes', data: { ...data, at: context.now.toISOString() } }, context);
  },
});

function tagCommand(name: 'TagContact' | 'UntagContact'): CommandDefinition<{ contactId: string; tags: string[] }> {
  return defineCommand({
    name,
    permission: 'write',
    parse: (raw) =>
      parseInput(raw, (input) => {
        const tags = normalizeTags(input.tags, 'input.tags');
        if (tags.length === 0) throw new ValidationError('input.tags', 'Give at least one tag.');
        return { contactId: contactIdOf(input), tags };
      }),
    execute: (deps, { contactId, tags }, context) => onContact(deps, contactId, { type: name, data: { tags, at: context.now.toISOString() } }, context),
  });
}

export const TagContact = tagCommand('TagContact');
export const UntagContact = tagCommand('UntagContact');

export const SubscribeContact = defineCommand<{ contactId: string } & SubscriptionRequest>({
  name: 'SubscribeContact',
  permission: 'write',
  parse: (raw) =>
    parseInput(raw, (input) => ({
      contactId: contactIdOf(input),
      topic: normalizeTopic(input.topic, 'input.topic'),
      consentTextVersion: parseLabel(input.consentTextVersion, 'input.consentTextVersion'),
      source: parseLabel(input.source ?? 'api', 'input.source'),
    })),
  execute: (deps, { contactId, ...data }, context) => onContact(deps, contactId, { type: 'SubscribeContact', data: { ...data, at: context.now.toISOString() } }, context),
});

export const UnsubscribeContact = defineCommand<{ contactId: string; topic: string; source: string; reason: string | null }>({
  name: 'UnsubscribeContact',
  permission: 'write',
  parse: (raw) =>
    parseInput(raw, (input) => ({
      contactId: contactIdOf(input),
      topic: normalizeTopic(input.topic, 'input.topic'),
      source: parseLabel(input.source ?? 'api', 'input.source'),
      reason: parseOptionalLabel(input.reason, 'input.reason', 1_000),
    })),
  execute: (deps, { contactId, ...data }, context) => onContact(deps, contactId, { type: 'UnsubscribeContact', data: { ...data, at: context.now.toISOString() } }, context),
});

export const SuppressContact = defineCommand<{ contactId: string; reason: SuppressionReason; detail: string | null }>({
  name: 'SuppressContact',
  permission: 'write',
  parse: (raw) =>
    parseInput(raw, (input) => {
      const reason = input.reason;
      if (!SUPPRESSION_REASONS.includes(reason as SuppressionReason)) {
        throw new ValidationError('input.reason', `reason must be one of ${SUPPRESSION_REASONS.join(', ')}.`);
      }
      return { contactId: contactIdOf(input), reason: reason as SuppressionReason, detail: parseOptionalLabel(input.detail, 'input.detail', 1_000) };
    }),
  execute: (deps, { contactId, ...data }, context) => onContact(deps, contactId, { type: 'SuppressContact', data: { ...data, at: context.now.toISOString() } }, context),
});

export const UnsuppressContact = defineCommand<{ contactId: string; detail: string | null }>({
  name: 'UnsuppressContact',
  permission: 'write',
  parse: (raw) => parseInput(raw, (input) => ({ contactId: contactIdOf(input), detail: parseOptionalLabel(input.detail, 'input.detail', 1_000) })),
  execute: (deps, { contactId, detail }, context) => onContact(deps, contactId, { type: 'UnsuppressContact', data: { detail, at: context.now.toISOString() } }, context),
});

/** Commands of the contacts slice (GraphQL mutations and NATS request/reply). */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const contactsCommands: readonly CommandDefinition<any>[] = [
  CreateContact,
  UpdateContactAttributes,
  TagContact,
  UntagContact,
  SubscribeContact,
  UnsubscribeContact,
  SuppressContact,
  UnsuppressContact,
];
