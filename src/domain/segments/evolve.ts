import type { SegmentEvent } from './events.js';
import type { Rule } from './rules.js';

export type SegmentState =
  | { readonly status: 'none' }
  | {
      readonly status: 'active';
      readonly segmentId: string;
      readonly name: string;
      readonly description: string | null;
      readonly rules: Rule;
      readonly version: number;
    }
  | { readonly status: 'deleted'; readonly segmentId: string; readonly name: string; readonly version: number };

export const initialSegmentState = (): SegmentState => ({ status: 'none' });

export function evolveSegment(state: SegmentState, event: SegmentEvent): SegmentState {
  switch (event.type) {
    case 'SegmentDefined': {
      const { segmentId, name, description, rules, version } = event.data;
      return { status: 'active', segmentId, name, description, rules, version };
    }
    case 'SegmentRulesChanged':
      return state.status === 'active' ? { ...state, rules: event.data.rules, version: event.data.version } : state;
    case 'SegmentRenamed':
      return state.status === 'active' ? { ...state, name: event.data.name, description: event.data.description } : state;
    case 'SegmentDeleted':
      return state.status === 'active' ? { status: 'deleted', segmentId: state.segmentId, name: state.name, version: state.version } : state;
  }
}
