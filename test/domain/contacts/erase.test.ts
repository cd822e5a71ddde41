import { describe, it } from 'vitest';
import type { ContactCommand } from '../../../src/domain/contacts/commands.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import type { ContactEvent } from '../../../src/domain/contacts/events.js';
import { decideImportRow, type ImportContactRow } from '../../../src/domain/contacts/import/decide.js';
import { ContactErasedError, NotFoundError } from '../../../src/domain/shared/errors.js';
import { deciderSpec } from '../../support/decider.js';

const spec = deciderSpec(contactDecider);
const AT = '2026-05-01T10:00:00.000Z';
const ID = '6a1f0c1e-5d2b-5c3a-9e4f-0a1b2c3d4e5f';

const created: ContactEvent = {
  type: 'ContactCreated',
  data: { contactId: ID, email: 'ada@example.com', emailAsGiven: 'ada@example.com', externalId: null, phone: null, attributes: {}, tags: [], source: 'api', createdAt: AT },
};
const merged: ContactEvent = { type: 'ContactMerged', data: { survivorId: 'survivor', rule: 'manual', at: AT } };
const erased: ContactEvent = { type: 'ContactErased', data: { at: AT } };
const erase: ContactCommand = { type: 'EraseContact', data: { at: AT } };

describe('EraseContact', () => {
  it('erases an active contact, and a merged duplicate (it still holds the person\'s data)', () => {
    spec.given([created]).when(erase).then([erased]);
    spec.given([created, merged]).when(erase).then([erased]);
  });

  it('decides nothing on an erased contact (idempotent), and NOT_FOUND on none', () => {
    spec.given([created, erased]).when(erase).then([]);
    spec.given([]).when(erase).thenThrows(NotFoundError);
  });

  it('refuses every later command, creating the same email again included', () => {
    const commands: ContactCommand[] = [
      { type: 'CreateContact', data: { contactId: ID, email: 'ada@example.com', externalId: null, phone: null, attributes: {}, tags: [], subscriptions: [], source: 'api', at: AT } },
      { type: 'TagContact', data: { tags: ['vip'], at: AT } },
      { type: 'UpdateContactAttributes', data: { changes: {}, phone: '+4915112345678', at: AT } },
      { type: 'SubscribeContact', data: { topic: 'news', consentTextVersion: 'v1', source: 'api', at: AT } },
      { type: 'UnsubscribeContact', data: { topic: 'news', source: 'api', reason: null, at: AT } },
      { type: 'SuppressContact', data: { reason: 'manual', detail: null, at: AT } },
    ];
    for (const command of commands) spec.given([created, erased]).when(command).thenThrows(ContactErasedError, /was erased/);
    spec.given([created, merged, erased]).when(commands[1]!).thenThrows(ContactErasedError);
  });

  it('an import row for an erased contact is a row error, not a re-creation', () => {
    const row: ImportContactRow = { type: 'ImportContactRow', data: { contactId: ID, contact: { email: 'ada@example.com', emailAsGiven: 'ada@example.com', phone: null, externalId: null, attributes: {}, tags: [], subscriptions: [] }, source: 'import:j', at: AT } };
    deciderSpec({ ...contactDecider, decide: decideImportRow }).given([created, erased]).when(row).thenThrows(ContactErasedError);
  });
});
