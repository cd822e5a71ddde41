import type { Kysely } from 'kysely';
import type { AttributeType } from '../../domain/contacts/events.js';
import { attributeKeyTypes } from '../../projections/contacts/queries.js';
import type { Database } from '../../projections/db/schema.js';

/**
 * The types of a workspace's attribute keys, remembered once seen. A key keeps the type of its first use for
 * good (the contacts projection inserts it once, ON CONFLICT DO NOTHING; rebuilds and erasure derive the same
 * first use), so a type once read can never change and asking again is a wasted round trip on every contact
 * command. Keys not known yet are asked every time (they may appear at any moment), but concurrent commands
 * asking about the same keys share one query: the read model lags the log anyway, so an answer started a
 * moment earlier is as good as a new one, and a burst of commands with new keys is not a burst of queries.
 */
interface SchemaCache {
  readonly types: Map<string, AttributeType>;
  readonly asking: Map<string, Promise<Map<string, AttributeType>>>;
}
const caches = new WeakMap<Kysely<Database>, SchemaCache>();

/** Bounds memory for engines with very many workspaces or keys; past it, start over (a cache, not a truth). */
const MAX_REMEMBERED = 50_000;

export async function attributeTypesOf(db: Kysely<Database>, workspaceId: string, keys: readonly string[]): Promise<Map<string, AttributeType>> {
  let cache = caches.get(db);
  if (cache === undefined) caches.set(db, (cache = { types: new Map(), asking: new Map() }));
  const known = new Map<string, AttributeType>();
  const unknown: string[] = [];
  for (const key of keys) {
    const type = cache.types.get(cacheKey(workspaceId, key));
    if (type === undefined) unknown.push(key);
    else known.set(key, type);
  }
  if (unknown.length === 0) return known;
  const question = cacheKey(workspaceId, ...[...new Set(unknown)].sort());
  let answer = cache.asking.get(question);
  if (answer === undefined) {
    answer = ask(cache, db, workspaceId, unknown).finally(() => cache.asking.delete(question));
    cache.asking.set(question, answer);
  }
  for (const [key, type] of await answer) known.set(key, type);
  return known;
}

async function ask(cache: SchemaCache, db: Kysely<Database>, workspaceId: string, keys: readonly string[]): Promise<Map<string, AttributeType>> {
  const found = await attributeKeyTypes(db, workspaceId, keys);
  if (cache.types.size + found.size > MAX_REMEMBERED) cache.types.clear();
  for (const [key, type] of found) cache.types.set(cacheKey(workspaceId, key), type);
  return found;
}

const cacheKey = (workspaceId: string, ...keys: string[]) => [workspaceId, ...keys].join('\u0000');
