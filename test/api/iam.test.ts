import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey, revokeApiKey } from '../../src/api/iam/apiKeys.js';
import { authenticate, forgetVerifiedKey } from '../../src/api/iam/authenticate.js';
import { createWorkspace } from '../../src/api/iam/workspaces.js';
import { useApiTestEnv, type ApiTestEnv } from './support.js';

let env: ApiTestEnv;
beforeAll(async () => {
  env = await useApiTestEnv('api_iam');
});

describe('API keys', () => {
  it('stores only the sha256 of the key and its first 10 characters', async () => {
    const ws = await createWorkspace(env.db, { name: 'Acme', createdBy: 'test' });
    const { apiKey, key } = await issueApiKey(env.db, { workspaceId: ws.id, name: 'k', role: 'marketer', createdBy: 'test' });
    expect(apiKey).not.toHaveProperty('key_hash');
    const row = await env.db.selectFrom('api_keys').selectAll().where('id', '=', apiKey.id).executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(row.key_prefix).toBe(key.slice(0, 10));
    expect(JSON.stringify(row)).not.toContain(key);
  });

  it('authenticates a key to its principal and refuses it once revoked', async () => {
    const ws = await createWorkspace(env.db, { name: 'Acme', createdBy: 'test' });
    const { apiKey, key } = await issueApiKey(env.db, { workspaceId: ws.id, name: 'k', role: 'auditor', createdBy: 'test' });
    expect(await authenticate(env.db, key)).toEqual({ workspaceId: ws.id, apiKeyId: apiKey.id, role: 'auditor', actor: `apikey:${apiKey.id}` });
    await revokeApiKey(env.db, { workspaceId: ws.id, id: apiKey.id, revokedBy: 'test' });
    expect(await authenticate(env.db, key)).toBeNull();
  });

  it('refuses malformed and unknown keys', async () => {
    expect(await authenticate(env.db, '')).toBeNull();
    expect(await authenticate(env.db, 'mk_short')).toBeNull();
    expect(await authenticate(env.db, `mk_${'B'.repeat(43)}`)).toBeNull();
  });

  it('writes last_used_at at most once a minute', async () => {
    const ws = await createWorkspace(env.db, { name: 'Acme', createdBy: 'test' });
    const { apiKey, key } = await issueApiKey(env.db, { workspaceId: ws.id, name: 'k', role: 'service', createdBy: 'test' });
    const lastUsed = async () =>
      (await env.db.selectFrom('api_keys').select('last_used_at').where('id', '=', apiKey.id).executeTakeFirstOrThrow()).last_used_at;
    expect(await lastUsed()).toBeNull();
    await authenticate(env.db, key);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await authenticate(env.db, key);
    expect(await lastUsed()).toEqual(first);
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await env.db.updateTable('api_keys').set({ last_used_at: twoMinutesAgo }).where('id', '=', apiKey.id).execute();
    forgetVerifiedKey(env.db, apiKey.id); // as if the one-second verification cache had expired
    await authenticate(env.db, key);
    expect((await lastUsed())!.getTime()).toBeGreaterThan(twoMinutesAgo.getTime() + 60_000);
  });

  it('does not revoke a key of another workspace', async () => {
    const mine = await createWorkspace(env.db, { name: 'Mine', createdBy: 'test' });
    const theirs = await createWorkspace(env.db, { name: 'Theirs', createdBy: 'test' });
    const { apiKey, key } = await issueApiKey(env.db, { workspaceId: theirs.id, name: 'k', role: 'admin', createdBy: 'test' });
    await expect(revokeApiKey(env.db, { workspaceId: mine.id, id: apiKey.id, revokedBy: 'test' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await authenticate(env.db, key)).not.toBeNull();
  });

  it('validates name, role and workspace before writing', async () => {
    const ws = await createWorkspace(env.db, { name: 'Acme', createdBy: 'test' });
    await expect(issueApiKey(env.db, { workspaceId: ws.id, name: ' ', role: 'admin', createdBy: 't' })).rejects.toMatchObject({ field: 'name' });
    await expect(issueApiKey(env.db, { workspaceId: ws.id, name: 'x', role: 'root', createdBy: 't' })).rejects.toMatchObject({ field: 'role' });
    await expect(issueApiKey(env.db, { workspaceId: 'nope', name: 'x', role: 'admin', createdBy: 't' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(createWorkspace(env.db, { name: '', createdBy: 't' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  });
});
