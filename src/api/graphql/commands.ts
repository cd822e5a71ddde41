import { dispatchCommand, type CommandDefinition, type CommandOutcome } from '../commands/catalog.js';
import type { GraphQLContext, GraphQLSlice } from './context.js';

/** Runs a catalog command from a mutation resolver, with the request's principal and correlation id. */
export function runCommand<Input>(ctx: GraphQLContext, definition: CommandDefinition<Input>, raw: unknown, commandId?: string | null): Promise<CommandOutcome> {
  const deps = { eventStore: ctx.deps.eventStore, db: ctx.deps.db, logger: ctx.deps.logger, now: () => new Date() };
  return dispatchCommand(deps, definition, raw, { principal: ctx.principal, correlationId: ctx.correlationId, commandId });
}

/** The GraphQL shape of a CommandOutcome (without `data`, which each mutation's payload exposes in its own fields). */
export function receipt(outcome: CommandOutcome) {
  return { streamId: outcome.streamId, revision: outcome.revision, position: outcome.position, duplicate: outcome.duplicate };
}

export const commandsSlice: GraphQLSlice = {
  name: 'commands',
  typeDefs: /* GraphQL */ `
    """
    What a command did. Pass position as consistentWith to a query to read your own write. duplicate: this
    commandId had been handled before; the first result is returned and nothing new was recorded.
    """
    type CommandReceipt {
      streamId: String!
      revision: Int!
      position: BigInt
      duplicate: Boolean!
    }
  `,
  resolvers: {},
};
