/**
 * The shape of every aggregate (Emmett style): pure functions, no I/O, no clock, no id generation.
 * Time, ids and the actor arrive in the command.
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}

export interface Decider<Command, State, Event extends DomainEvent> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: Event) => State;
  /** Returns the events the command causes; throws a DomainError for an invalid transition. */
  readonly decide: (command: Command, state: State) => readonly Event[];
}

/** Who asks, on whose behalf, and which request: becomes every resulting event's metadata. */
export interface CommandContext {
  /** Client-chosen id; repeating a command with the same id returns the first result and appends nothing. */
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: string;
  readonly workspaceId: string;
}
