import fc from 'fast-check';
import {
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';
import { junk, nastyString } from './support.js';

/**
 * Variables for a GraphQL field, derived from its argument types: mostly the right shape with hostile leaves
 * (so they get past GraphQL's own coercion and reach our validation), sometimes wrong types, nulls or nested
 * junk. `ids` are real ids of the workspace, so that some commands get as far as the domain.
 */
export function argumentsArbitrary(field: GraphQLField<unknown, unknown>, ids: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const entries = field.args.map((arg) => {
    // A large valid position would make the query wait 5 s for the read model (READ_MODEL_BEHIND): tested elsewhere.
    const value = arg.name === 'consistentWith' ? fc.constantFrom('0', '-1', '1.5', '', 'x', 'null', '1e3') : valueFor(arg.type, ids, 0);
    return [arg.name, fc.option(value, { nil: undefined, freq: isNonNullType(arg.type) ? 20 : 4 })] as const;
  });
  return fc.record(Object.fromEntries(entries)).map((vars) => Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)));
}

function valueFor(type: GraphQLInputType, ids: readonly string[], depth: number): fc.Arbitrary<unknown> {
  const shaped = shapedValue(type, ids, depth);
  return fc.oneof({ arbitrary: shaped, weight: 15 }, { arbitrary: junk, weight: 1 });
}

function shapedValue(type: GraphQLInputType, ids: readonly string[], depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return fc.oneof({ arbitrary: valueFor(type.ofType, ids, depth), weight: 15 }, { arbitrary: fc.constant(null), weight: 1 });
  if (isListType(type)) return depth > 3 ? fc.constant([]) : fc.array(valueFor(type.ofType, ids, depth + 1), { maxLength: 4 });
  if (isEnumType(type)) return fc.oneof({ arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)), weight: 8 }, { arbitrary: nastyString, weight: 1 });
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant({});
    const fields = Object.values(type.getFields());
    return fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, ids, depth + 1)])), { requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name) });
  }
  if (isScalarType(type)) return scalarValue(type.name, ids);
  return junk;
}

function scalarValue(name: string, ids: readonly string[]): fc.Arbitrary<unknown> {
  switch (name) {
    case 'Int':
      return fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31)));
    case 'Float':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e308, 0.1));
    case 'Boolean':
      return fc.boolean();
    case 'ID':
      return ids.length === 0 ? nastyString : fc.oneof(fc.constantFrom(...ids), fc.uuid(), nastyString);
    case 'BigInt':
      return fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), nastyString);
    case 'JSON':
      return junk;
    default:
      // String and the custom string-like scalars (dates, emails, ...).
      return fc.oneof(fc.constantFrom(...ids.slice(0, 3), 'newsletter', 'A', 'B', '2026-12-01T09:00', 'Europe/Berlin', 'x@example.com'), nastyString);
  }
}

/** `mutation($a: T!, ...) { field(a: $a, ...) <selection> }` for any field of the root type. */
export function operationFor(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const variables = field.args.map((a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${kind}${variables === '' ? '' : `(${variables})`} { ${field.name}${args === '' ? '' : `(${args})`}${selection} }`;
}
