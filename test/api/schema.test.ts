import { buildSchema, GraphQLScalarType, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphQLSlice } from '../../src/api/graphql/context.js';
import { BigIntScalar, DateTimeScalar } from '../../src/api/graphql/scalars.js';
import { mergeSlices, SLICES } from '../../src/api/graphql/schema.js';

const extraSlice: GraphQLSlice = {
  name: 'extra',
  typeDefs: 'extend type Query { extraCount: Int! }\nextend type Mutation { pauseExtra(id: ID!): BigInt! }',
  resolvers: { Query: { extraCount: () => 0 }, Mutation: { pauseExtra: () => 1n } },
};

describe('GraphQL schema', () => {
  it('merges slices that extend Query and Mutation', () => {
    const merged = mergeSlices([...SLICES, extraSlice]);
    const sdl = printSchema(buildSchema(merged.typeDefs.join('\n')));
    expect(sdl).toMatch(/type Query \{[^}]*apiKeys[^}]*extraCount: Int!/s);
    expect(sdl).toMatch(/type Mutation \{[^}]*revokeApiKey[^}]*pauseExtra/s);
    const base = Object.keys(mergeSlices(SLICES).resolvers.Query!);
    expect(base).toEqual(expect.arrayContaining(['me', 'workspace', 'apiKeys']));
    expect(Object.keys(merged.resolvers.Query!)).toEqual([...base, 'extraCount']);
    expect(merged.resolvers.BigInt).toBeInstanceOf(GraphQLScalarType);
  });

  it('refuses two slices resolving the same field', () => {
    const clash: GraphQLSlice = { name: 'clash', typeDefs: '', resolvers: { Query: { me: () => null } } };
    expect(() => mergeSlices([...SLICES, clash])).toThrow(/Query\.me is resolved twice/);
  });

  it('serializes positions as decimal strings and parses them back', () => {
    expect(BigIntScalar.serialize(9007199254740993n)).toBe('9007199254740993');
    expect(BigIntScalar.parseValue('9007199254740993')).toBe(9007199254740993n);
    expect(() => BigIntScalar.parseValue('12abc')).toThrow(/decimal integer/);
    expect(() => BigIntScalar.parseValue(1.5)).toThrow();
  });

  it('serializes DateTime as ISO 8601 and requires an offset on input', () => {
    expect(DateTimeScalar.serialize(new Date('2024-05-01T12:00:00Z'))).toBe('2024-05-01T12:00:00.000Z');
    expect(DateTimeScalar.parseValue('2024-05-01T14:00:00+02:00')).toEqual(new Date('2024-05-01T12:00:00Z'));
    expect(() => DateTimeScalar.parseValue('2024-05-01T12:00:00')).toThrow(/offset/);
  });
});
