import type { Decider } from '../shared/decider.js';
import { DomainError, InvalidTransitionError, NotFoundError } from '../shared/errors.js';
import type { SegmentCommand } from './commands.js';
import type { SegmentEvent } from './events.js';
import { evolveSegment, initialSegmentState, type SegmentState } from './evolve.js';

/** Deleting a segment that active segments still use in `inSegment`; names them. */
export class SegmentInUseError extends DomainError {
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly segmentId: string,
    readonly referencedBy: readonly { readonly id: string; readonly name: string }[],
  ) {
    super(`Segment ${segmentId} is used by ${referencedBy.map((s) => `"${s.name}" (${s.id})`).join(', ')}; remove those inSegment rules first`);
    this.name = 'SegmentInUseError';
  }
}

export function decideSegment(command: SegmentCommand, state: SegmentState): SegmentEvent[] {
  if (command.type === 'DefineSegment') {
    if (state.status !== 'none') throw new InvalidTransitionError('segment', state.status, command.type);
    const { segmentId, name, description, rules, at } = command.data;
    return [{ type: 'SegmentDefined', data: { segmentId, name, description, rules, version: 1, definedAt: at } }];
  }
  if (state.status === 'none') throw new NotFoundError('segment');
  if (state.status === 'deleted') throw new InvalidTransitionError('segment', state.status, command.type);
  switch (command.type) {
    case 'ChangeSegmentRules':
      if (JSON.stringify(command.data.rules) === JSON.stringify(state.rules)) return [];
      return [{ type: 'SegmentRulesChanged', data: { rules: command.data.rules, version: state.version + 1, changedAt: command.data.at } }];
    case 'RenameSegment': {
      const description = command.data.description === undefined ? state.description : command.data.description;
      if (command.data.name === state.name && description === state.description) return [];
      return [{ type: 'SegmentRenamed', data: { name: command.data.name, description, renamedAt: command.data.at } }];
    }
    case 'DeleteSegment':
      if (command.data.referencedBy.length > 0) throw new SegmentInUseError(state.segmentId, command.data.referencedBy);
      return [{ type: 'SegmentDeleted', data: { deletedAt: command.data.at } }];
  }
}

export const segmentDecider: Decider<SegmentCommand, SegmentState, SegmentEvent> = {
  initialState: initialSegmentState,
  evolve: evolveSegment,
  decide: decideSegment,
};
