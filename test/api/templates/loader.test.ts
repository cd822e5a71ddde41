import { describe, expect, it } from 'vitest';
import type { GraphQLContext } from '../../../src/api/graphql/context.js';
import { RequestLoader, requestLoader } from '../../../src/api/graphql/requestLoader.js';

describe('request-scoped loader (N+1)', () => {
  it('loads issued in one round of resolvers become one batch; repeated keys share one load', async () => {
    const batches: string[][] = [];
    const loader = new RequestLoader<string, string>(
      (key) => key,
      async (keys) => {
        batches.push([...keys]);
        return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.toUpperCase()]));
      },
    );
    const results = await Promise.all(['a', 'b', 'a', 'missing', 'c'].map((key) => loader.load(key)));
    expect(results).toEqual(['A', 'B', 'A', undefined, 'C']);
    expect(batches).toEqual([['a', 'b', 'missing', 'c']]);
    expect(await loader.load('d')).toBe('D');
    expect(await loader.load('a')).toBe('A');
    expect(batches).toEqual([['a', 'b', 'missing', 'c'], ['d']]);
  });

  it('a failed batch fails each of its loads', async () => {
    const loader = new RequestLoader<string, string>((k) => k, () => Promise.reject(new Error('db down')));
    await expect(Promise.all([loader.load('a'), loader.load('b')])).rejects.toThrow('db down');
  });

  it('loaders live per request context', () => {
    const one = {} as GraphQLContext;
    const two = {} as GraphQLContext;
    const create = () => new RequestLoader<string, string>((k) => k, async () => new Map());
    expect(requestLoader(one, 'x', create)).toBe(requestLoader(one, 'x', create));
    expect(requestLoader(one, 'x', create)).not.toBe(requestLoader(two, 'x', create));
    expect(requestLoader(one, 'x', create)).not.toBe(requestLoader(one, 'y', create));
  });
});
