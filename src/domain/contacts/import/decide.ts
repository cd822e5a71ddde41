import type { Decider } from '../../shared/decider.js';
import { ContactErasedError, ValidationError } from '../../shared/errors.js';
import type { ContactCommand } from '../commands.js';
import { decide } from '../decide.js';
import type { ContactEvent } from '../events.js';
import { evolve } from '../evolve.js';
import { initialContactState, type ContactState } from '../state.js';
import type { ImportedContact } from './row.js';

/**
 * One imported row as one command on the contact's stream: the contact aggregate's own commands, decided in
 * sequence against the state each leaves behind, so an import follows exactly the rules of the API.
 *
 * - A new contact: one CreateContact carrying attributes, tags and subscriptions (ContactCreated, then one
 *   ContactSubscribed per topic).
 * - An existing contact: UpdateContactAttributes (the row's attributes, phone, external id), TagContact and
 *   SubscribeContact; each decides only what changes, so re-importing a file decides nothing at all.
 * - Consent: an import never re-subscribes a contact who unsubscribed from that topic (an opt-out is only undone
 *   by the contact, through a form or the API), and never unsubscribes anyone.
 * - A merged contact's email: refused (ValidationError on `email`) naming the survivor to update instead.
 */
export interface ImportContactRow {
  readonly type: 'ImportContactRow';
  readonly data: {
    /** contactIdFor(workspace, contact.email) */
    readonly contactId: string;
    readonly contact: ImportedContact;
    /** `import:<jobId>` */
    readonly source: string;
    readonly at: string;
  };
}

export function decideImportRow(command: ImportContactRow, state: ContactState): ContactEvent[] {
  const { contactId, contact, source, at } = command.data;
  if (state.status === 'erased') throw new ContactErasedError(contactId);
  if (state.status === 'merged') {
    throw new ValidationError(`the contact with this email was merged into contact ${state.survivorId}; update that contact instead`, 'email');
  }
  if (state.status === 'none') {
    const subscriptions = contact.subscriptions.map((s) => ({ ...s, source }));
    const { email, phone, externalId, attributes, tags } = contact;
    return [...decide({ type: 'CreateContact', data: { contactId, email, phone, externalId, attributes, tags, subscriptions, source, at } }, state)];
  }
  const commands: ContactCommand[] = [];
  const changes = { ...(contact.phone === null ? {} : { phone: contact.phone }), ...(contact.externalId === null ? {} : { externalId: contact.externalId }) };
  if (Object.keys(contact.attributes).length > 0 || Object.keys(changes).length > 0) {
    commands.push({ type: 'UpdateContactAttributes', data: { changes: contact.attributes, ...changes, at } });
  }
  if (contact.tags.length > 0) commands.push({ type: 'TagContact', data: { tags: contact.tags, at } });
  for (const s of contact.subscriptions) {
    if (state.consents[s.topic]?.status === 'unsubscribed') continue;
    commands.push({ type: 'SubscribeContact', data: { ...s, source, at } });
  }
  const events: ContactEvent[] = [];
  let current: ContactState = state;
  for (const command of commands) {
    const decided = decide(command, current);
    for (const event of decided) {
      events.push(event);
      current = evolve(current, event);
    }
  }
  return events;
}

export const importRowDecider: Decider<ImportContactRow, ContactState, ContactEvent> = {
  initialState: initialContactState,
  evolve,
  decide: decideImportRow,
};
