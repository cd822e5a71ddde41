import type { CommandContext, Decider, DomainEvent } from '../domain/shared/decider.js';
import { NotFoundError } from '../domain/shared/errors.js';
import { deterministicUuid } from '../domain/shared/ids.js';
import { activeTraceparent, tracingEnabled, withSpan } from '../infra/spans.js';
import { WrongExpectedRevisionError } from './errors.js';
import type { EventStore, RecordedEvent, StreamAppend } from './port.js';
import { currentSchemaVersion } from './upcasting.js';

export interface CommandResult<Event extends DomainEvent> {
  readonly streamId: string;
  /** Revision of the stream's last event after the command (-1: the stream still does not exist). */
  readonly revision: number;
  /** Global position of the command's last event; null when the command caused no event. */
  readonly position: bigint | null;
  readonly events: readonly Event[];
  /** True when this command id had already been handled: the first result is returned, nothing appended. */
  readonly duplicate: boolean;
}

export interface HandleOptions {
  /** The client's view of the stream (optimistic concurrency from a UI): a different actual revision conflicts. */
  readonly expectedRevision?: number;
  /** Re-decide against fresh state after a conflict this many times (for internal callers); default 0. */
  readonly retriesOnConflict?: number;
  readonly schemaVersionOf?: (eventType: string) => number;
}

/**
 * Load → fold → decide → append with the loaded revision.
 *
 * Idempotency: every event records its command id; when a command id is already in the stream the first
 * result is returned and nothing is appended. Two racing copies of one command: one appends, the other
 * conflicts, re-reads, finds its command id and returns the same result. Event ids are derived from the
 * command id as a second guard (the store treats an identical re-append as a no-op).
 *
 * Workspaces: a stream belongs to the workspace of its first event; any other workspace gets NOT_FOUND.
 */
export async function handleCommand<Command, State, Event extends DomainEvent>(
  store: EventStore,
  decider: Decider<Command, State, Event>,
  streamId: string,
  command: Command,
  context: CommandContext,
  options: HandleOptions = {},
): Promise<CommandResult<Event>> {
  if (!tracingEnabled()) return decideAndAppend(store, decider, streamId, command, context, options);
  const type = (command as { type?: unknown }).type;
  const attributes = { 'command.type': typeof type === 'string' ? type : 'unknown', 'stream.id': streamId, 'command.id': context.commandId, 'correlation.id': context.correlationId };
  return withSpan(`command ${attributes['command.type']}`, attributes, () => decideAndAppend(store, decider, streamId, command, context, options));
}

async function decideAndAppend<Command, State, Event extends DomainEvent>(
  store: EventStore,
  decider: Decider<Command, State, Event>,
  streamId: string,
  command: Command,
  context: CommandContext,
  options: HandleOptions,
): Promise<CommandResult<Event>> {
  for (let attempt = 0; ; attempt++) {
    const history = await loadStream(store, streamId);
    const plan = planCommand(decider, streamId, command, context, history, options);
    if (plan.kind === 'done') return plan.result;
    try {
      const appended = await store.append(streamId, plan.append.events, { expectedRevision: plan.append.expectedRevision });
      return { streamId, revision: appended.nextExpectedRevision, position: appended.position, events: plan.events, duplicate: false };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      // A racing copy of this very command may have won: the next load finds its command id.
      const raced = resultOfEarlierCopy<Event>(streamId, await loadStream(store, streamId), context.commandId);
      if (raced !== null) return raced;
      if (attempt >= (options.retriesOnConflict ?? 0)) throw error;
    }
  }
}

export type CommandPlan<Event extends DomainEvent> =
  | { readonly kind: 'done'; readonly result: CommandResult<Event> }
  | { readonly kind: 'append'; readonly append: StreamAppend; readonly events: readonly Event[] };

/**
 * The pure middle of command handling, shared by handleCommand and handleCommandBatch: given the stream's
 * history, either the result is already known (an earlier copy of the command, or nothing to do) or these
 * events are to be appended at the loaded revision. Throws NotFoundError for another workspace's stream and
 * the decider's domain errors.
 */
export function planCommand<Command, State, Event extends DomainEvent>(
  decider: Decider<Command, State, Event>,
  streamId: string,
  command: Command,
  context: CommandContext,
  history: readonly RecordedEvent[],
  options: HandleOptions = {},
): CommandPlan<Event> {
  if (history.length > 0 && history[0]!.metadata.workspaceId !== context.workspaceId) throw new NotFoundError(streamId);
  const previous = resultOfEarlierCopy<Event>(streamId, history, context.commandId);
  if (previous !== null) return { kind: 'done', result: previous };
  const revision = history.length - 1;
  // A client's revision of a stream that does not exist: there is nothing it could have seen (streams are never
  // deleted), so the entity is not found (not a conflict that a retry could resolve).
  if (options.expectedRevision !== undefined && revision === -1) throw new NotFoundError(streamId);
  if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
    throw new WrongExpectedRevisionError(streamId, options.expectedRevision, revision === -1 ? 'no_stream' : revision);
  }
  const state = history.reduce((s, e) => decider.evolve(s, e as unknown as Event), decider.initialState());
  const events = decider.decide(command, state);
  if (events.length === 0) return { kind: 'done', result: { streamId, revision, position: null, events, duplicate: false } };
  const traceparent = activeTraceparent();
  return {
    kind: 'append',
    events,
    append: {
      streamId,
      expectedRevision: revision === -1 ? 'no_stream' : revision,
      events: events.map((event, index) => ({
        id: deterministicUuid(`${context.commandId}:${streamId}:${index}`),
        type: event.type,
        data: event.data,
        metadata: {
          correlationId: context.correlationId,
          causationId: context.causationId,
          commandId: context.commandId,
          actor: context.actor,
          workspaceId: context.workspaceId,
          ...(traceparent === undefined ? {} : { traceparent }),
          schemaVersion: options.schemaVersionOf?.(event.type) ?? currentSchemaVersion(event.type),
        },
      })),
    },
  };
}

async function loadStream(store: EventStore, streamId: string): Promise<readonly RecordedEvent[]> {
  const read = await store.readStream(streamId);
  return read.status === 'not_found' ? [] : read.events;
}

function resultOfEarlierCopy<Event extends DomainEvent>(
  streamId: string,
  history: readonly RecordedEvent[],
  commandId: string,
): CommandResult<Event> | null {
  const own = history.filter((e) => e.metadata.commandId === commandId);
  const last = own.at(-1);
  if (last === undefined) return null;
  return {
    streamId,
    revision: last.revision,
    position: last.position,
    events: own.map((e) => ({ type: e.type, data: e.data }) as Event),
    duplicate: true,
  };
}
