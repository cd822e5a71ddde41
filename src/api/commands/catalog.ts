import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CommandContext } from '../../domain/shared/decider.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../projections/db/schema.js';
import { commandDuration, commandsTotal } from '../../infra/metrics.js';
import { forbidden, mapError, ValidationError } from '../errors.js';
import { can, type Action } from '../iam/permissions.js';
import type { Principal } from '../iam/principal.js';

/** What a command's execution may use. `now` is the only clock: decide functions get time from the command. */
export interface CommandDeps {
  readonly eventStore: EventStore;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly now: () => Date;
}

export interface CommandOutcome {
  readonly streamId: string;
  /** Revision of the stream's last event after the command. */
  readonly revision: number;
  /** Global position of the command's last event (null: nothing appended); use it with `consistentWith`. */
  readonly position: bigint | null;
  /** The command id had been handled before: the first result is returned and nothing was appended. */
  readonly duplicate: boolean;
  /** Command-specific results (e.g. `contactId`). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface ExecutionContext extends CommandContext {
  readonly now: Date;
}

/**
 * One command of the public API, shared by GraphQL mutations and NATS request/reply
 * (`<prefix>.commands.<name>`), so both interfaces validate, authorize and behave the same.
 */
export interface CommandDefinition<Input = unknown> {
  /** PascalCase, also the NATS subject's last token: `CreateContact`. */
  readonly name: string;
  readonly permission: Action;
  /** Validates untrusted input (GraphQL args or NATS JSON); throws ValidationError naming the field. */
  readonly parse: (raw: unknown) => Input;
  readonly execute: (deps: CommandDeps, input: Input, context: ExecutionContext) => Promise<CommandOutcome>;
}

export function defineCommand<Input>(definition: CommandDefinition<Input>): CommandDefinition<Input> {
  return definition;
}

export interface CommandCall {
  readonly principal: Principal | null;
  readonly correlationId: string;
  /** Client-chosen for idempotency; generated when absent (then a retry is a new command). */
  readonly commandId?: string | null;
  readonly causationId?: string | null;
}

const COMMAND_ID = /^[A-Za-z0-9_:.-]{1,100}$/;

/** Authorize, parse, and execute one command on behalf of an API key. */
export async function dispatchCommand<Input>(deps: CommandDeps, definition: CommandDefinition<Input>, raw: unknown, call: CommandCall): Promise<CommandOutcome> {
  if (call.principal === null) throw forbidden('A valid API key is required.');
  if (!can(call.principal.role, definition.permission)) throw forbidden(`Role ${call.principal.role} may not run ${definition.name}.`);
  if (call.commandId != null && !COMMAND_ID.test(call.commandId)) {
    throw new ValidationError('commandId', 'commandId must be 1-100 characters of letters, digits, _ : . or -.');
  }
  const input = definition.parse(raw);
  const context: ExecutionContext = {
    commandId: call.commandId ?? randomUUID(),
    correlationId: call.correlationId,
    causationId: call.causationId ?? null,
    actor: call.principal.actor,
    workspaceId: call.principal.workspaceId,
    now: deps.now(),
  };
  const stopTimer = commandDuration.startTimer({ command: definition.name });
  let outcome: CommandOutcome;
  try {
    outcome = await definition.execute(deps, input, context);
  } catch (error) {
    commandsTotal.inc({ command: definition.name, outcome: mapError(error).code });
    throw error;
  } finally {
    stopTimer();
  }
  commandsTotal.inc({ command: definition.name, outcome: outcome.duplicate ? 'duplicate' : 'ok' });
  deps.logger.info({ command: definition.name, commandId: context.commandId, correlationId: context.correlationId, streamId: outcome.streamId, duplicate: outcome.duplicate }, 'command handled');
  return outcome;
}
