import type { CommandDefinition } from './catalog.js';
import { contactsCommands } from './contacts.js';
import { segmentsCommands } from './segments.js';
import { templatesCommands } from './templates.js';
import { campaignsCommands } from './campaigns.js';
import { contactMergeCommands } from './contactMerges.js';
import { launchCommands } from './launches.js';
import { privacyCommands } from './privacy.js';

/**
 * Every command of the public API. A slice adds its definitions here; GraphQL mutations and the NATS command
 * server both look them up by name.
 */
// The catalog holds commands of different input types; each definition checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: readonly CommandDefinition<any>[] = [...contactsCommands, ...segmentsCommands, ...templatesCommands, ...campaignsCommands, ...contactMergeCommands, ...launchCommands, ...privacyCommands];

export function findCommand(name: string): CommandDefinition<unknown> | undefined {
  return COMMANDS.find((c) => c.name === name);
}
