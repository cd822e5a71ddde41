import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';

/**
 * Operations for any root field of the schema, for tests that walk every field: minimal variables that pass
 * GraphQL's own coercion (so the resolver, and its role check, runs), and a selection that reads every scalar a
 * few levels down (so a leak of another workspace's data would show in the response).
 */

/** Minimal valid variables: every non-null argument and input field gets a value of its type; `id` for IDs. */
export function minimalVariables(field: GraphQLField<unknown, unknown>, id: (argName: string) => string): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const arg of field.args) {
    if (isNonNullType(arg.type) || getNamedType(arg.type).name === 'ID') variables[arg.name] = valueOf(arg.type, arg.name, id, 0);
  }
  return variables;
}

function valueOf(type: GraphQLInputType, name: string, id: (argName: string) => string, depth: number): unknown {
  if (isNonNullType(type)) return valueOf(type.ofType, name, id, depth);
  if (isListType(type)) return [valueOf(type.ofType, name, id, depth + 1)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    if (depth > 4) return out;
    for (const f of Object.values(type.getFields())) {
      if (isNonNullType(f.type) || getNamedType(f.type).name === 'ID') out[f.name] = valueOf(f.type, f.name, id, depth + 1);
    }
    return out;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return id(name);
      case 'Int':
        return 1;
      case 'Float':
        return 1;
      case 'Boolean':
        return false;
      case 'BigInt':
        return '1';
      case 'DateTime':
        return '2026-01-01T00:00:00Z';
      case 'JSON':
        return {};
      default:
        return name === 'email' ? 'someone@example.com' : 'x';
    }
  }
  return null;
}

export function variableDefinitions(field: GraphQLField<unknown, unknown>, variables: Record<string, unknown>): { defs: string; args: string } {
  const used = field.args.filter((a) => a.name in variables);
  return {
    defs: used.length === 0 ? '' : `(${used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')})`,
    args: used.length === 0 ? '' : `(${used.map((a) => `${a.name}: $${a.name}`).join(', ')})`,
  };
}

/** Every scalar field `levels` deep; object fields with a required argument are skipped; lists ask for 5. */
export function deepSelection(type: GraphQLOutputType, levels: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isUnionType(named)) return ' { __typename }';
  if (!isObjectType(named) && !isInterfaceType(named)) return '';
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const inner = getNamedType(f.type);
    if (isLeafType(inner)) {
      parts.push(f.name);
    } else if (levels > 1) {
      const first = f.args.some((a) => a.name === 'first') ? '(first: 5)' : '';
      parts.push(`${f.name}${first}${deepSelection(f.type, levels - 1)}`);
    }
  }
  return ` { ${parts.join(' ')} }`;
}

/** `kind $defs { field$args <selection> }` with minimal variables. */
export function operationOf(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>, id: (argName: string) => string, levels = 1): { query: string; variables: Record<string, unknown> } {
  const variables = minimalVariables(field, id);
  const { defs, args } = variableDefinitions(field, variables);
  const selection = levels <= 1 ? (isLeafType(getNamedType(field.type)) ? '' : ' { __typename }') : deepSelection(field.type, levels);
  return { query: `${kind}${defs} { ${field.name}${args}${selection} }`, variables };
}
