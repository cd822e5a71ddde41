import { MAX_PAGE_SIZE } from './connection.js';
import {
  GraphQLError,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';

/** The most a query may cost: a page of 100 with ~50 fields each, not pages of pages of pages. */
export const MAX_QUERY_COST = 5_000;

/**
 * Query cost: every field costs 1, times the page size of the connections above it (`first`, default 1 —
 * lists without `first` are bounded by their resolvers; a `first` given by a variable counts as the largest
 * page, since the rule is static so that mercurius can cache validated queries). Nested connections multiply, so
 * `campaigns(first: 100) { edges { node { members(first: 100) ... } } }` is refused before it runs, with
 * QUERY_TOO_COMPLEX. The depth limit (mercurius' queryDepth) is the other half.
 */
export function complexityLimit(maxCost = MAX_QUERY_COST): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const cost = (selectionSet: SelectionSetNode | undefined, seen: ReadonlySet<string>): number => {
      if (selectionSet === undefined) return 0;
      let total = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) total += fieldCost(selection, seen);
        else if (selection.kind === Kind.INLINE_FRAGMENT) total += cost(selection.selectionSet, seen);
        else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // A fragment cycle is reported by graphql-js' own NoFragmentCycles rule; do not loop on it here.
          if (fragment !== undefined && !seen.has(name)) total += cost(fragment.selectionSet, new Set([...seen, name]));
        }
      }
      return total;
    };
    const fieldCost = (field: FieldNode, seen: ReadonlySet<string>): number => {
      const first = field.arguments?.find((a) => a.name.value === 'first');
      const pageSize = first === undefined ? 1 : Math.max(1, numberOf(first.value));
      return 1 + pageSize * cost(field.selectionSet, seen);
    };
    return {
      OperationDefinition(operation) {
        const total = cost(operation.selectionSet, new Set());
        if (total > maxCost) {
          context.reportError(
            new GraphQLError(`This query would cost ${total}; the limit is ${maxCost}. Ask for smaller pages or fewer nested connections.`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          );
        }
      },
    };
  };
}

function numberOf(value: ValueNode): number {
  if (value.kind === Kind.INT) return Number(value.value);
  return value.kind === Kind.VARIABLE ? MAX_PAGE_SIZE : 1;
}
