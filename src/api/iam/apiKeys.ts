import { forgetVerifiedKey } from './authenticate.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ApiKeysTable, Database } from '../../projections/db/schema.js';
import { notFound, ValidationError } from '../errors.js';
import { isApiKeyRole, type ApiKeyRole } from './permissions.js';
import { requireName } from './workspaces.js';

// Stored directly, not event-sourced: see workspaces.ts.

/** An API key as shown to people: never its hash, never the key. */
export type ApiKey = Omit<Selectable<ApiKeysTable>, 'key_hash'>;

export const KEY_PREFIX_LENGTH = 10;
const KEY_PATTERN = /^mk_[A-Za-z0-9_-]{43}$/;

const API_KEY_COLUMNS = [
  'id',
  'workspace_id',
  'name',
  'role',
  'key_prefix',
  'created_by',
  'created_at',
  'revoked_at',
  'last_used_at',
] as const satisfies readonly (keyof ApiKey)[];

/** `mk_` + 32 random bytes in base64url: 256 bits, so a plain sha256 is a safe way to store it. */
export function generateKey(): string {
  return `mk_${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

export async function issueApiKey(
  db: Kysely<Database>,
  input: { workspaceId: string; name: string; role: string; createdBy: string },
): Promise<{ apiKey: ApiKey; key: string }> {
  const name = requireName('name', input.name, 100);
  if (!isApiKeyRole(input.role)) throw new ValidationError('role', `role must be one of admin, marketer, auditor, service.`);
  const role: ApiKeyRole = input.role;
  const workspace = await db.selectFrom('workspaces').select('id').where('id', '=', input.workspaceId).executeTakeFirst();
  if (workspace === undefined) throw notFound('Workspace');
  const key = generateKey();
  const apiKey = await db
    .insertInto('api_keys')
    .values({
      id: randomUUID(),
      workspace_id: input.workspaceId,
      name,
      role,
      key_prefix: key.slice(0, KEY_PREFIX_LENGTH),
      key_hash: hashKey(key),
      created_by: input.createdBy,
      // Millisecond precision, so a cursor built from a JS Date finds the row again exactly.
      created_at: new Date(),
      revoked_at: null,
      last_used_at: null,
    })
    .returning(API_KEY_COLUMNS)
    .executeTakeFirstOrThrow();
  return { apiKey, key };
}

/**
 * Revokes a key of `workspaceId`; a key of another workspace is NOT_FOUND, as if it did not exist. Revoking a
 * revoked key returns it unchanged. (The table has no revoked_by column yet, so `revokedBy` is not stored.)
 */
export async function revokeApiKey(
  db: Kysely<Database>,
  input: { workspaceId: string; id: string; revokedBy: string },
): Promise<ApiKey> {
  const revoked = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', input.id)
    .where('workspace_id', '=', input.workspaceId)
    .where('revoked_at', 'is', null)
    .returning(API_KEY_COLUMNS)
    .executeTakeFirst();
  forgetVerifiedKey(db, input.id);
  if (revoked !== undefined) return revoked;
  const existing = await findApiKey(db, input);
  if (existing === undefined) throw notFound('API key');
  return existing;
}

export async function findApiKey(db: Kysely<Database>, input: { workspaceId: string; id: string }): Promise<ApiKey | undefined> {
  return db
    .selectFrom('api_keys')
    .select(API_KEY_COLUMNS)
    .where('id', '=', input.id)
    .where('workspace_id', '=', input.workspaceId)
    .executeTakeFirst();
}

export interface ApiKeyCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** Keys of one workspace, oldest first, keyset-paginated on (created_at, id); revoked keys included. */
export async function listApiKeys(
  db: Kysely<Database>,
  input: { workspaceId: string; first: number; after?: ApiKeyCursor | undefined },
): Promise<{ apiKeys: ApiKey[]; hasNextPage: boolean }> {
  // Truncated to milliseconds on both sides: a JS Date (and so a cursor) cannot hold microseconds.
  const createdAtMs = sql<Date>`date_trunc('milliseconds', created_at)`;
  let query = db
    .selectFrom('api_keys')
    .select(API_KEY_COLUMNS)
    .where('workspace_id', '=', input.workspaceId)
    .orderBy(createdAtMs)
    .orderBy('id')
    .limit(input.first + 1);
  const after = input.after;
  if (after !== undefined) query = query.where(sql<boolean>`(${createdAtMs}, id) > (${after.createdAt}, ${after.id})`);
  const rows = await query.execute();
  return { apiKeys: rows.slice(0, input.first), hasNextPage: rows.length > input.first };
}
