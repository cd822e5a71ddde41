import type { CommandDefinition } from './catalog.js';

/** Commands of the templates slice (GraphQL mutations and NATS request/reply). */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const templatesCommands: readonly CommandDefinition<any>[] = [];
