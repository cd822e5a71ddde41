import { expect } from 'vitest';
import type { Decider, DomainEvent } from '../../src/domain/shared/decider.js';

/**
 * Given/when/then over a pure decider:
 *   spec(given([...events]).when(command).then([...events]))
 *   given([...]).when(command).thenThrows(InvalidTransitionError, /paused/)
 */
export function deciderSpec<Command, State, Event extends DomainEvent>(decider: Decider<Command, State, Event>) {
  return {
    given(events: readonly Event[]) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        state,
        when(command: Command) {
          return {
            then(expected: readonly Event[]): void {
              expect(decider.decide(command, state)).toEqual(expected);
            },
            thenThrows(errorClass: abstract new (...args: never[]) => Error, message?: RegExp): void {
              let thrown: unknown;
              try {
                decider.decide(command, state);
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toBeInstanceOf(errorClass);
              if (message !== undefined) expect((thrown as Error).message).toMatch(message);
            },
          };
        },
      };
    },
  };
}
