import type { Decider } from '../shared/decider.js';
import { InvalidTransitionError, NotFoundError } from '../shared/errors.js';
import type { TemplateCommand } from './commands.js';
import type { TemplateContent, TemplateEvent } from './events.js';
import { evolveTemplate, initialTemplateState, type TemplateState } from './evolve.js';

const sameContent = (a: TemplateContent, b: TemplateContent): boolean => a.subject === b.subject && a.html === b.html && a.text === b.text;

export function decideTemplate(command: TemplateCommand, state: TemplateState): TemplateEvent[] {
  if (command.type === 'CreateTemplate') {
    if (state.status !== 'none') throw new InvalidTransitionError('template', state.status, command.type);
    const { templateId, name, subject, html, text, at } = command.data;
    return [{ type: 'TemplateCreated', data: { templateId, name, subject, html, text, version: 1, createdAt: at } }];
  }
  if (state.status === 'none') throw new NotFoundError('template');
  if (state.status === 'archived') throw new InvalidTransitionError('template', state.status, command.type);
  switch (command.type) {
    case 'ChangeTemplate': {
      const { subject, html, text, at } = command.data;
      // Saving the same content again is not a change: no new version.
      if (sameContent(state.content, command.data)) return [];
      return [{ type: 'TemplateChanged', data: { subject, html, text, version: state.version + 1, changedAt: at } }];
    }
    case 'RenameTemplate':
      if (command.data.name === state.name) return [];
      return [{ type: 'TemplateRenamed', data: { name: command.data.name, renamedAt: command.data.at } }];
    case 'ArchiveTemplate':
      return [{ type: 'TemplateArchived', data: { archivedAt: command.data.at } }];
  }
}

export const templateDecider: Decider<TemplateCommand, TemplateState, TemplateEvent> = {
  initialState: initialTemplateState,
  evolve: evolveTemplate,
  decide: decideTemplate,
};
