import { sql, type Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import { hashKey, looksLikeKey } from './apiKeys.js';
import { actorOfApiKey, type Principal } from './principal.js';

const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The principal of a bearer key, or null when the key is malformed, unknown or revoked. Reads the table on
 * every call, so a revocation takes effect on the next request. `last_used_at` is written at most once a
 * minute per key, so authentication is not a write on every request.
 */
export async function authenticate(db: Kysely<Database>, bearerKey: string): Promise<Principal | null> {
  if (!looksLikeKey(bearerKey)) return null;
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'workspace_id', 'role', 'last_used_at'])
    .where('key_hash', '=', hashKey(bearerKey))
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
  return { workspaceId: row.workspace_id, apiKeyId: row.id, role: row.role, actor: actorOfApiKey(row.id) };
}
