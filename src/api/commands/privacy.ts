import { contactDecider } from '../../domain/contacts/decide.js';
import { contactStreamId, type ContactAbsorbed } from '../../domain/contacts/events.js';
import { isContactId } from '../../domain/contacts/identity.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import { ContactKeyStore } from '../../privacy/keyStore.js';
import { forgetContacts } from '../../privacy/erasure.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { ValidationError } from '../errors.js';
import { defineCommand, type CommandDeps } from './catalog.js';

/**
 * EraseContact (GDPR right to erasure), admin keys only. Appends ContactErased to the contact's stream — and to
 * the stream of every duplicate it absorbed in merges, which held the same person's data — then destroys their
 * data keys and blanks the side tables (src/privacy/erasure.ts). The projector's erasure follower repeats the key
 * destruction when it sees ContactErased, so a crash between the two steps still ends erased.
 *
 * Unknown contact (or another workspace's): NOT_FOUND. Erasing an erased contact appends nothing and answers
 * `alreadyErased: true` (it completes the side effects again, which changes nothing when they were done).
 */
export const EraseContact = defineCommand<{ contactId: string }>({
  name: 'EraseContact',
  permission: 'admin',
  parse(raw) {
    const input = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (!isContactId(input.contactId)) throw new ValidationError('input.contactId', 'contactId must be a contact id (uuid).');
    return { contactId: input.contactId };
  },
  async execute(deps, { contactId }, context) {
    const command = { type: 'EraseContact' as const, data: { at: context.now.toISOString() } };
    const result = await handleCommand(deps.eventStore, contactDecider, contactStreamId(contactId), command, context, { retriesOnConflict: 3 });
    const duplicates = await absorbedDuplicates(deps, contactId);
    const erased = [contactId];
    for (const duplicateId of duplicates) {
      const cascade = { ...context, commandId: deterministicUuid(`erase:${context.commandId}:${duplicateId}`), causationId: context.commandId };
      await handleCommand(deps.eventStore, contactDecider, contactStreamId(duplicateId), command, cascade, { retriesOnConflict: 3 });
      erased.push(duplicateId);
    }
    await forgetContacts(deps.db, new ContactKeyStore(deps.db), erased.map((id) => ({ contactId: id, workspaceId: context.workspaceId })));
    const alreadyErased = !result.duplicate && result.events.length === 0;
    return { streamId: result.streamId, revision: result.revision, position: result.position, duplicate: result.duplicate, data: { contactId, erasedContactIds: erased, alreadyErased } };
  },
});

/** The contacts merged into this one: their streams hold the same person's data. */
async function absorbedDuplicates(deps: CommandDeps, contactId: string): Promise<string[]> {
  const read = await deps.eventStore.readStream(contactStreamId(contactId));
  if (read.status === 'not_found') return [];
  return read.events.filter((e) => e.type === 'ContactAbsorbed').map((e) => (e.data as ContactAbsorbed['data']).duplicateId);
}

export const privacyCommands = [EraseContact];

