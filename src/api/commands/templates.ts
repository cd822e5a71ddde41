import type { TemplateCommand } from '../../domain/templates/commands.js';
import { templateDecider } from '../../domain/templates/decide.js';
import { templateSchemaVersionOf, templateStreamId, upcastTemplateEvent } from '../../domain/templates/events.js';
import { initialTemplateState, type TemplateState } from '../../domain/templates/evolve.js';
import { expectedRevisionOf, inputObject, nameOf, templateContentOf, uuidOf } from '../../domain/templates/input.js';
import { validateTemplateContent, type TemplateSchema } from '../../domain/templates/render.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import { contactAttributeKeys } from '../../projections/templates/queries.js';
import { defineCommand, type CommandDefinition, type CommandDeps, type CommandOutcome, type ExecutionContext } from './catalog.js';

/** The workspace's contact schema as templates see it (attribute keys usable as `contact.<key>`). */
export type TemplateSchemaLookup = (deps: CommandDeps, workspaceId: string) => Promise<TemplateSchema>;

export interface TemplatesCommandsOptions {
  /** Default: the contacts slice's `contact_attribute_keys` table (empty while it does not exist). */
  readonly schema?: TemplateSchemaLookup;
}

export const defaultTemplateSchema: TemplateSchemaLookup = async (deps, workspaceId) => ({ attributeKeys: await contactAttributeKeys(deps.db, workspaceId) });

/**
 * A template's current state from its stream (the truth, not the read model), so a template saved a moment ago
 * can be used at once. Another workspace's template is as absent as a missing one.
 */
export async function loadTemplate(store: EventStore, workspaceId: string, templateId: string): Promise<TemplateState> {
  const read = await store.readStream(templateStreamId(templateId));
  if (read.status === 'not_found' || read.events[0]?.metadata.workspaceId !== workspaceId) return initialTemplateState();
  return read.events.reduce((state, e) => templateDecider.evolve(state, upcastTemplateEvent(e, e.metadata.schemaVersion)), initialTemplateState());
}

async function run(deps: CommandDeps, templateId: string, command: TemplateCommand, context: ExecutionContext, expectedRevision?: number): Promise<CommandOutcome> {
  const result = await handleCommand(deps.eventStore, templateDecider, templateStreamId(templateId), command, context, {
    schemaVersionOf: templateSchemaVersionOf,
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  });
  const created = result.events.find((e) => e.type === 'TemplateCreated' || e.type === 'TemplateChanged');
  return {
    streamId: result.streamId,
    revision: result.revision,
    position: result.position,
    duplicate: result.duplicate,
    data: { templateId, ...(created === undefined ? {} : { version: created.data.version }) },
  };
}

/** The templates commands, with the contact schema lookup injectable (tests, or before the contacts slice exists). */
export function createTemplatesCommands(options: TemplatesCommandsOptions = {}) {
  const schemaOf = options.schema ?? defaultTemplateSchema;

  const CreateTemplate = defineCommand({
    name: 'CreateTemplate',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { templateId: uuidOf(input.templateId, 'input.templateId', false), name: nameOf(input.name), content: templateContentOf(input) };
    },
    async execute(deps, input, context) {
      validateTemplateContent(input.content, await schemaOf(deps, context.workspaceId));
      // Without a client-chosen id, the id follows from the command id: a retried command names the same template.
      const templateId = input.templateId ?? deterministicUuid(`template:${context.workspaceId}:${context.commandId}`);
      const command: TemplateCommand = { type: 'CreateTemplate', data: { templateId, name: input.name, ...input.content, at: context.now.toISOString() } };
      return run(deps, templateId, command, context);
    },
  });

  const ChangeTemplate = defineCommand({
    name: 'ChangeTemplate',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { templateId: uuidOf(input.templateId, 'input.templateId', true), content: templateContentOf(input), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    async execute(deps, input, context) {
      validateTemplateContent(input.content, await schemaOf(deps, context.workspaceId));
      return run(deps, input.templateId, { type: 'ChangeTemplate', data: { ...input.content, at: context.now.toISOString() } }, context, input.expectedRevision);
    },
  });

  const RenameTemplate = defineCommand({
    name: 'RenameTemplate',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { templateId: uuidOf(input.templateId, 'input.templateId', true), name: nameOf(input.name), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    execute(deps, input, context) {
      return run(deps, input.templateId, { type: 'RenameTemplate', data: { name: input.name, at: context.now.toISOString() } }, context, input.expectedRevision);
    },
  });

  const ArchiveTemplate = defineCommand({
    name: 'ArchiveTemplate',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { templateId: uuidOf(input.templateId, 'input.templateId', true), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    execute(deps, input, context) {
      return run(deps, input.templateId, { type: 'ArchiveTemplate', data: { at: context.now.toISOString() } }, context, input.expectedRevision);
    },
  });

  return { CreateTemplate, ChangeTemplate, RenameTemplate, ArchiveTemplate };
}

export const TEMPLATE_COMMANDS = createTemplatesCommands();

/** Commands of the templates slice (GraphQL mutations and NATS request/reply). */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const templatesCommands: readonly CommandDefinition<any>[] = Object.values(TEMPLATE_COMMANDS);
