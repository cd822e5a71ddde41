import type { GraphQLContext } from './context.js';

/**
 * Request-scoped batching (DataLoader-like) for N+1 fields: every load issued while a response is being
 * resolved is collected and fetched with one query once the current round of resolvers has run (setImmediate),
 * and repeated keys share one promise. Loaders live as long as the request's context object (WeakMap).
 */
export class RequestLoader<Key, Value> {
  private readonly cache = new Map<string, Promise<Value | undefined>>();
  private queue: { id: string; key: Key; resolve: (value: Value | undefined) => void; reject: (error: unknown) => void }[] = [];

  constructor(
    private readonly idOf: (key: Key) => string,
    private readonly loadMany: (keys: readonly Key[]) => Promise<ReadonlyMap<string, Value>>,
  ) {}

  load(key: Key): Promise<Value | undefined> {
    const id = this.idOf(key);
    let loading = this.cache.get(id);
    if (loading === undefined) {
      loading = new Promise((resolve, reject) => {
        this.queue.push({ id, key, resolve, reject });
        if (this.queue.length === 1) setImmediate(() => void this.flush());
      });
      this.cache.set(id, loading);
    }
    return loading;
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const found = await this.loadMany(batch.map((entry) => entry.key));
      for (const entry of batch) entry.resolve(found.get(entry.id));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}

const loaders = new WeakMap<object, Map<string, unknown>>();

/**
 * A subscription's context lives as long as its WebSocket, so each push must start with empty loaders, or it
 * would answer from the first push's cache. The subscription field's `resolve` calls this before its children run.
 */
export function forgetRequestLoaders(ctx: object): void {
  loaders.delete(ctx);
}

/** The request's loader called `name`, created on first use. */
export function requestLoader<Key, Value>(ctx: GraphQLContext, name: string, create: () => RequestLoader<Key, Value>): RequestLoader<Key, Value> {
  let byName = loaders.get(ctx);
  if (byName === undefined) loaders.set(ctx, (byName = new Map()));
  let loader = byName.get(name) as RequestLoader<Key, Value> | undefined;
  if (loader === undefined) byName.set(name, (loader = create()));
  return loader;
}
