import { sql, type Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import { hashKey, looksLikeKey } from './apiKeys.js';
import { actorOfApiKey, type Principal } from './principal.js';

const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Verified keys are remembered for one second (by hash), so a dashboard's burst of requests costs one lookup.
 * A revocation clears the entry on the instance that revokes, and takes effect on other instances within
 * VERIFIED_KEY_TTL_MS. Unknown keys are not cached (a revoked or forged key always reaches the table).
 */
export const VERIFIED_KEY_TTL_MS = 1_000;
type VerifiedKeys = Map<string, { principal: Principal; until: number }>;
/** One cache per database handle: two servers in one process never share verifications. */
const caches = new WeakMap<object, VerifiedKeys>();
const cacheOf = (db: object): VerifiedKeys => {
  let cache = caches.get(db);
  if (cache === undefined) caches.set(db, (cache = new Map()));
  return cache;
};

/** Forget cached verifications of one API key (called when it is revoked). */
export function forgetVerifiedKey(db: object, apiKeyId: string): void {
  const cache = cacheOf(db);
  for (const [hash, entry] of cache) if (entry.principal.apiKeyId === apiKeyId) cache.delete(hash);
}

/**
 * The principal of a bearer key, or null when the key is malformed, unknown or revoked. `last_used_at` is
 * written at most once a minute per key, so authentication is not a write on every request.
 */
export async function authenticate(db: Kysely<Database>, bearerKey: string): Promise<Principal | null> {
  if (!looksLikeKey(bearerKey)) return null;
  const hash = hashKey(bearerKey);
  const verified = cacheOf(db);
  const cached = verified.get(hash);
  if (cached !== undefined && cached.until > Date.now()) return cached.principal;
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'workspace_id', 'role', 'last_used_at'])
    .where('key_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (row === undefined) return null;
  if (row.last_used_at === null || Date.now() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    // Guarded again in SQL, so concurrent requests with the same key write once.
    await db
      .updateTable('api_keys')
      .set({ last_used_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
      .execute();
  }
  const principal: Principal = { workspaceId: row.workspace_id, apiKeyId: row.id, role: row.role, actor: actorOfApiKey(row.id) };
  if (verified.size > 10_000) verified.clear();
  verified.set(hash, { principal, until: Date.now() + VERIFIED_KEY_TTL_MS });
  return principal;
}
