import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import type { GraphQLSlice } from './context.js';

const DECIMAL_INTEGER = /^-?\d+$/;

/** An instant, ISO 8601 with an offset, e.g. `2024-05-01T12:00:00.000Z`. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant in ISO 8601 with an offset, e.g. 2024-05-01T12:00:00.000Z.',
  serialize(value) {
    const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
    if (date === undefined || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent this value.');
    return date.toISOString();
  },
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO 8601 string with an offset, e.g. 2024-05-01T12:00:00Z.');
  }
  return date;
}

/** A 64-bit integer (event positions) as a decimal string, since JSON numbers lose precision beyond 2^53. */
export const BigIntScalar = new GraphQLScalarType<bigint, string>({
  name: 'BigInt',
  description: 'A 64-bit integer (e.g. an event position) serialized as a decimal string.',
  serialize(value) {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) return BigInt(value).toString();
    throw new GraphQLError('BigInt cannot represent this value.');
  },
  parseValue: (value) => parseBigInt(value),
  parseLiteral: (ast: ValueNode) => parseBigInt(ast.kind === Kind.STRING || ast.kind === Kind.INT ? ast.value : undefined),
});

function parseBigInt(value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) return BigInt(value);
  throw new GraphQLError('BigInt must be a decimal integer string, e.g. "42".');
}

export const scalarsSlice: GraphQLSlice = {
  name: 'scalars',
  typeDefs: /* GraphQL */ `
    scalar DateTime
    scalar BigInt

    "Relay-style pagination state of a connection."
    type PageInfo {
      hasNextPage: Boolean!
      endCursor: String
    }
  `,
  resolvers: { DateTime: DateTimeScalar, BigInt: BigIntScalar },
};
