import { DEDUPE_RULES, isDedupeRule, type DedupeCandidate, type DedupeRule, type DuplicateGroup } from '../../domain/contacts/dedupe.js';
import { contactStreamId, type ContactEvent } from '../../domain/contacts/events.js';
import { isContactId } from '../../domain/contacts/identity.js';
import { duplicateSide, evolveMergeView, initialMergeView, survivorSide, type MergeContacts as MergeCommand, type MergeView } from '../../domain/contacts/merge.js';
import type { CommandContext } from '../../domain/shared/decider.js';
import { DomainError, NotFoundError } from '../../domain/shared/errors.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import { findDuplicateGroups } from '../../projections/contacts/duplicates.js';
import { mapError, ValidationError } from '../errors.js';
import { defineCommand, type CommandDefinition, type CommandOutcome } from './catalog.js';

/**
 * Merging contacts (GraphQL mutations and NATS request/reply), see src/domain/contacts/merge.ts for the policy.
 *
 * A merge writes two streams in order: ContactAbsorbed on the survivor, then ContactMerged on the duplicate,
 * both under the command's id (event ids derived from it). A retry after a crash between the two finds the
 * survivor's half by its command id (nothing appended again) and completes the duplicate's half.
 */

const RETRIES = { retriesOnConflict: 3 } as const;

export interface MergeInput {
  readonly survivorId: string;
  readonly duplicateId: string;
  readonly rule: string;
}

/** Loads a contact's merge view; another workspace's contact is NOT_FOUND (as for every stream). */
export async function loadMergeView(store: EventStore, contactId: string, workspaceId: string): Promise<MergeView> {
  const read = await store.readStream(contactStreamId(contactId));
  if (read.status === 'not_found') return initialMergeView();
  if (read.events[0]!.metadata.workspaceId !== workspaceId) throw new NotFoundError('Contact');
  return read.events.reduce((view, event) => evolveMergeView(view, event as unknown as ContactEvent), initialMergeView());
}

/** Both halves of a merge, survivor first; idempotent by the context's command id. */
export async function mergeContacts(store: EventStore, input: MergeInput, context: CommandContext & { readonly now: Date }): Promise<CommandOutcome> {
  const { survivorId, duplicateId, rule } = input;
  const merge: MergeCommand = { type: 'MergeContacts', data: { survivorId, duplicateId, rule, at: context.now.toISOString() } };
  const duplicate = await loadMergeView(store, duplicateId, context.workspaceId);
  const absorbed = await handleCommand(store, survivorSide, contactStreamId(survivorId), { merge, other: duplicate }, context, RETRIES);
  const survivor = await loadMergeView(store, survivorId, context.workspaceId);
  const merged = await handleCommand(store, duplicateSide, contactStreamId(duplicateId), { merge, other: survivor }, context, RETRIES);
  return {
    streamId: merged.streamId,
    revision: merged.revision,
    position: merged.position ?? absorbed.position,
    duplicate: absorbed.duplicate && merged.duplicate,
    data: { survivorId, duplicateId, merged: merged.events.length > 0 || merged.duplicate },
  };
}

/** Merges `duplicateId` into `survivorId`. Refused: into itself (BAD_USER_INPUT), from or into a merged contact (INVALID_TRANSITION), unknown or another workspace's (NOT_FOUND). */
export const MergeContacts = defineCommand<{ survivorId: string; duplicateId: string }>({
  name: 'MergeContacts',
  permission: 'write',
  parse(raw) {
    const input = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    if (!isContactId(input.survivorId)) throw new ValidationError('input.survivorId', 'survivorId must be a contact id (uuid).');
    if (!isContactId(input.duplicateId)) throw new ValidationError('input.duplicateId', 'duplicateId must be a contact id (uuid).');
    if (input.survivorId === input.duplicateId) throw new ValidationError('input.duplicateId', 'A contact cannot be merged into itself.');
    return { survivorId: input.survivorId, duplicateId: input.duplicateId };
  },
  execute: (deps, input, context) => mergeContacts(deps.eventStore, { ...input, rule: 'manual' }, context),
});

export interface FindAndMergeInput {
  readonly rules: DedupeRule[];
  readonly dryRun: boolean;
  readonly maxGroups: number;
}

export const DEFAULT_MAX_GROUPS = 1_000;
const MAX_GROUPS = 10_000;

/** A group in JSON: the survivor and each duplicate with the rule and key it matched by. */
export function groupJson(group: DuplicateGroup) {
  const contact = (c: DedupeCandidate) => ({ id: c.id, email: c.email, phone: c.phone, externalId: c.externalId, createdAt: c.createdAt });
  return { survivor: contact(group.survivor), duplicates: group.duplicates.map((d) => ({ ...contact(d.contact), rule: d.rule, key: d.key })) };
}

export function parseRules(raw: unknown, field: string): DedupeRule[] {
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every(isDedupeRule)) throw new ValidationError(field, `rules must be a non-empty list of ${DEDUPE_RULES.join(', ')}.`);
  return [...new Set(raw)];
}

/**
 * Finds duplicate groups in the contacts read model and merges each duplicate into its group's survivor
 * through mergeContacts (one event pair per duplicate, rule `dedupe:<rule>`, command id
 * `<commandId>:<duplicateId>`, so repeating the command repeats nothing). dryRun: only the groups. At most
 * `maxGroups` shared keys per rule per call (`truncated`: call again once the read model has caught up).
 * A merge that is refused (e.g. a contact merged meanwhile) is reported in `failures`; the others go on.
 */
export const FindAndMergeDuplicates = defineCommand<FindAndMergeInput>({
  name: 'FindAndMergeDuplicates',
  permission: 'write',
  parse(raw) {
    const input = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const rules = parseRules(input.rules, 'input.rules');
    if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') throw new ValidationError('input.dryRun', 'dryRun must be true or false.');
    const maxGroups = input.maxGroups ?? DEFAULT_MAX_GROUPS;
    if (!Number.isInteger(maxGroups) || (maxGroups as number) < 1 || (maxGroups as number) > MAX_GROUPS) {
      throw new ValidationError('input.maxGroups', `maxGroups must be an integer from 1 to ${MAX_GROUPS}.`);
    }
    return { rules, dryRun: input.dryRun === true, maxGroups: maxGroups as number };
  },
  async execute(deps, input, context) {
    const { groups, truncated } = await findDuplicateGroups(deps.db, context.workspaceId, input.rules, input.maxGroups);
    const duplicates = groups.reduce((n, g) => n + g.duplicates.length, 0);
    const summary = { dryRun: input.dryRun, rules: input.rules, groupCount: groups.length, duplicateCount: duplicates, truncated, groups: groups.map(groupJson) };
    if (input.dryRun) return { streamId: '', revision: -1, position: null, duplicate: false, data: { ...summary, merged: 0, failures: [] } };
    let last: CommandOutcome | null = null;
    let merged = 0;
    let allRepeated = true;
    const failures: { survivorId: string; duplicateId: string; code: string; message: string }[] = [];
    for (const group of groups) {
      for (const d of group.duplicates) {
        const ids = { survivorId: group.survivor.id, duplicateId: d.contact.id };
        try {
          const outcome = await mergeContacts(deps.eventStore, { ...ids, rule: `dedupe:${d.rule}` }, { ...context, commandId: `${context.commandId}:${d.contact.id}`, causationId: context.commandId });
          if (outcome.data?.merged === true) merged++;
          allRepeated &&= outcome.duplicate;
          if (outcome.position !== null && (last?.position == null || outcome.position > last.position)) last = outcome;
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          const { code, message } = mapError(error);
          failures.push({ ...ids, code, message });
        }
      }
    }
    return {
      streamId: last?.streamId ?? '',
      revision: last?.revision ?? -1,
      position: last?.position ?? null,
      duplicate: duplicates > 0 && allRepeated,
      data: { ...summary, merged, failures },
    };
  },
});

/** The merge commands; add `...contactMergeCommands` to COMMANDS in src/api/commands/index.ts. */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const contactMergeCommands: readonly CommandDefinition<any>[] = [MergeContacts, FindAndMergeDuplicates];
