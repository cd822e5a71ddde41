import { describe, expect, it } from 'vitest';
import { InvalidTransitionError, NotFoundError } from '../../../src/domain/shared/errors.js';
import { templateDecider } from '../../../src/domain/templates/decide.js';
import { upcastTemplateEvent, type TemplateEvent } from '../../../src/domain/templates/events.js';
import { deciderSpec } from '../../support/decider.js';

const spec = deciderSpec(templateDecider);
const AT = '2025-01-01T10:00:00.000Z';
const LATER = '2025-01-02T10:00:00.000Z';
const content = { subject: 'Hi {{ contact.email }}', html: '<p>Hello</p>', text: 'Hello' };
const created: TemplateEvent = { type: 'TemplateCreated', data: { templateId: 't1', name: 'Welcome', ...content, version: 1, createdAt: AT } };
const changed: TemplateEvent = { type: 'TemplateChanged', data: { subject: 'New', html: '<p>New</p>', text: null, version: 2, changedAt: LATER } };
const archived: TemplateEvent = { type: 'TemplateArchived', data: { archivedAt: LATER } };

describe('template aggregate', () => {
  it('CreateTemplate on a new stream creates version 1', () => {
    spec.given([]).when({ type: 'CreateTemplate', data: { templateId: 't1', name: 'Welcome', ...content, at: AT } }).then([created]);
  });

  it('CreateTemplate twice is an invalid transition', () => {
    spec.given([created]).when({ type: 'CreateTemplate', data: { templateId: 't1', name: 'Again', ...content, at: AT } }).thenThrows(InvalidTransitionError, /active/);
  });

  it('ChangeTemplate bumps the version on every change', () => {
    spec.given([created]).when({ type: 'ChangeTemplate', data: { subject: 'New', html: '<p>New</p>', text: null, at: LATER } }).then([changed]);
    spec.given([created, changed]).when({ type: 'ChangeTemplate', data: { ...content, at: LATER } }).then([{ type: 'TemplateChanged', data: { ...content, version: 3, changedAt: LATER } }]);
  });

  it('ChangeTemplate with the same content creates no version', () => {
    spec.given([created]).when({ type: 'ChangeTemplate', data: { ...content, at: LATER } }).then([]);
  });

  it('RenameTemplate renames; the same name records nothing', () => {
    spec.given([created]).when({ type: 'RenameTemplate', data: { name: 'Hello', at: LATER } }).then([{ type: 'TemplateRenamed', data: { name: 'Hello', renamedAt: LATER } }]);
    spec.given([created]).when({ type: 'RenameTemplate', data: { name: 'Welcome', at: LATER } }).then([]);
  });

  it('ArchiveTemplate archives; afterwards every command is an invalid transition', () => {
    spec.given([created]).when({ type: 'ArchiveTemplate', data: { at: LATER } }).then([archived]);
    spec.given([created, archived]).when({ type: 'ArchiveTemplate', data: { at: LATER } }).thenThrows(InvalidTransitionError, /archived/);
    spec.given([created, archived]).when({ type: 'ChangeTemplate', data: { ...content, at: LATER } }).thenThrows(InvalidTransitionError, /archived/);
    spec.given([created, archived]).when({ type: 'RenameTemplate', data: { name: 'x', at: LATER } }).thenThrows(InvalidTransitionError, /archived/);
  });

  it('commands on a template that was never created are NOT_FOUND', () => {
    spec.given([]).when({ type: 'ChangeTemplate', data: { ...content, at: AT } }).thenThrows(NotFoundError);
    spec.given([]).when({ type: 'RenameTemplate', data: { name: 'x', at: AT } }).thenThrows(NotFoundError);
    spec.given([]).when({ type: 'ArchiveTemplate', data: { at: AT } }).thenThrows(NotFoundError);
  });

  it('the fold keeps the current version and content', () => {
    expect(spec.given([created, changed]).state).toEqual({ status: 'active', templateId: 't1', name: 'Welcome', version: 2, content: { subject: 'New', html: '<p>New</p>', text: null } });
  });

  it('the upcaster refuses unknown schema versions and types', () => {
    expect(upcastTemplateEvent(created, 1)).toBe(created);
    expect(() => upcastTemplateEvent(created, 2)).toThrow(/schema version 2/);
    expect(() => upcastTemplateEvent({ type: 'Nope', data: {} }, 1)).toThrow(/Not a template event/);
  });
});
