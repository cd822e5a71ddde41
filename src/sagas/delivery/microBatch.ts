/**
 * Coalesces the lookups made in the same tick into one call of `load` (a DataLoader without the cache): a
 * delivery batch renders its rows concurrently, so their contact reads become one query instead of one each.
 * A key `load` does not return resolves to undefined.
 */
export function microBatch<K, V>(load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>): (key: K) => Promise<V | undefined> {
  let pending: { keys: K[]; result: Promise<ReadonlyMap<K, V>> } | null = null;
  return (key) => {
    if (pending === null) {
      const keys: K[] = [];
      const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        pending = null;
        return load(keys);
      });
      pending = { keys, result };
    }
    pending.keys.push(key);
    return pending.result.then((values) => values.get(key));
  };
}
