import { beforeAll, describe, expect, it } from 'vitest';
import { runAdminCli } from '../../src/api/cli/run.js';
import { authenticate } from '../../src/api/iam/authenticate.js';
import { useApiTestEnv, type ApiTestEnv } from './support.js';

let env: ApiTestEnv;
beforeAll(async () => {
  env = await useApiTestEnv('api_cli');
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAdminCli(argv, {
    db: env.db,
    out: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    actor: 'cli:test',
  });
  return { code, stdout, stderr };
}

async function createWorkspace(name: string): Promise<{ id: string; key: string; keyId: string }> {
  const { code, stdout } = await cli('workspace', 'create', '--name', name, '--json');
  expect(code).toBe(0);
  const out = JSON.parse(stdout);
  return { id: out.workspace.id, key: out.key, keyId: out.apiKey.id };
}

const counts = async () => ({
  workspaces: Number((await env.db.selectFrom('workspaces').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
  keys: Number((await env.db.selectFrom('api_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
});

describe('admin CLI', () => {
  it('workspace create prints the id and a first admin key, shown once', async () => {
    const { code, stdout, stderr } = await cli('workspace', 'create', '--name', 'Acme');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const id = /id:\s+([0-9a-f-]{36})/.exec(stdout)?.[1];
    const key = /(mk_[A-Za-z0-9_-]{43})/.exec(stdout)?.[1];
    expect(stdout).toMatch(/shown only once/);
    const principal = await authenticate(env.db, key!);
    expect(principal).toMatchObject({ workspaceId: id, role: 'admin' });
  });

  it('workspace create --json prints JSON', async () => {
    const ws = await createWorkspace('Bolt');
    expect(await authenticate(env.db, ws.key)).toMatchObject({ workspaceId: ws.id, apiKeyId: ws.keyId, role: 'admin' });
  });

  it('issues, lists and revokes keys', async () => {
    const ws = await createWorkspace('Keys Inc');
    const issued = await cli('key', 'issue', '--workspace', ws.id, '--name', 'newsletter team', '--role', 'marketer', '--json');
    expect(issued.code).toBe(0);
    const { apiKey, key } = JSON.parse(issued.stdout);
    expect(apiKey).toMatchObject({ workspaceId: ws.id, name: 'newsletter team', role: 'marketer', createdBy: 'cli:test', revokedAt: null });
    expect(await authenticate(env.db, key)).toMatchObject({ role: 'marketer' });

    const text = await cli('key', 'list', '--workspace', ws.id);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/newsletter team\s+marketer/);
    expect(text.stdout).not.toContain(key);

    const revoked = await cli('key', 'revoke', '--workspace', ws.id, '--id', apiKey.id);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked/);
    expect(await authenticate(env.db, key)).toBeNull();

    const listed = JSON.parse((await cli('key', 'list', '--workspace', ws.id, '--json')).stdout);
    expect(listed.apiKeys.map((k: { name: string; revokedAt: string | null }) => [k.name, k.revokedAt === null])).toEqual([
      ['initial admin', true],
      ['newsletter team', false],
    ]);
  });

  it('will not revoke a key through another workspace', async () => {
    const a = await createWorkspace('A');
    const b = await createWorkspace('B');
    const result = await cli('key', 'revoke', '--workspace', b.id, '--id', a.keyId);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not found/i);
    expect(await authenticate(env.db, a.key)).not.toBeNull();
  });

  it('reports an unknown workspace with exit code 1', async () => {
    expect((await cli('key', 'list', '--workspace', 'nope')).code).toBe(1);
    const issue = await cli('key', 'issue', '--workspace', 'nope', '--name', 'x', '--role', 'admin');
    expect(issue.code).toBe(1);
    expect(issue.stderr).toMatch(/Workspace not found/);
  });

  it.each([
    [[]],
    [['frobnicate']],
    [['workspace', 'create']],
    [['workspace', 'create', '--name', '   ']],
    [['workspace', 'create', '--name', 'x'.repeat(201)]],
    [['workspace', 'create', '--name', 'X', '--role', 'admin']],
    [['workspace', 'create', '--nme', 'X']],
    [['key', 'issue', '--workspace', 'w', '--name', 'x']],
    [['key', 'issue', '--workspace', 'w', '--name', 'x', '--role', 'root']],
    [['key', 'revoke', '--workspace', 'w']],
    [['key', 'list']],
  ])('bad usage %j: usage message, exit code 2, nothing written', async (argv) => {
    const before = await counts();
    const result = await cli(...argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: .+\n\nUsage: npm run admin/);
    expect(await counts()).toEqual(before);
  });

  it('--help prints usage with exit code 0', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage:/);
  });
});
