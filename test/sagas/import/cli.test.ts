/** `npm run import` without a process: arguments, exit codes, summary, progress (runImportCli). */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, findWorkspace } from '../../../src/api/iam/workspaces.js';
import { UsageError } from '../../../src/api/cli/usage.js';
import { parseImportArgs, runImportCli, type ImportCliDeps, type ProgressView } from '../../../src/sagas/import/cliRun.js';
import { useImportTestEnv, type ImportTestEnv } from './support.js';

let env: ImportTestEnv;
let workspaceId: string;
let mappingFile: string;

beforeAll(async () => {
  env = await useImportTestEnv('importcli');
  workspaceId = (await createWorkspace(env.db, { name: `cli-${randomUUID().slice(0, 6)}`, createdBy: 'test' })).id;
  mappingFile = await env.file(JSON.stringify({ email: 'E-Mail', first_name: { column: 'Vorname' }, age: { column: 'Alter', type: 'number' } }), 'mapping.json');
});

async function run(argv: string[], progress?: ProgressView) {
  let stdout = '';
  let stderr = '';
  const deps: ImportCliDeps = {
    store: env.store,
    db: env.db,
    actor: 'cli:test',
    out: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    workspaceExists: async (id) => (await findWorkspace(env.db, id)) !== undefined,
    ...(progress === undefined ? {} : { progress }),
  };
  const code = await runImportCli(argv, deps);
  return { code, stdout, stderr };
}

describe('parseImportArgs', () => {
  it.each([
    [[], /missing the CSV file/],
    [['a.csv', 'b.csv', '--workspace', 'w', '--mapping', 'm'], /one CSV file at a time/],
    [['a.csv', '--mapping', 'm'], /--workspace is required/],
    [['a.csv', '--workspace', 'w'], /--mapping is required/],
    [['a.csv', '--workspace', 'w', '--mapping', 'm', '--delimiter', ';;'], /one character/],
    [['a.csv', '--workspace', 'w', '--mapping', 'm', '--job', 'x'], /uuid/],
    [['a.csv', '--bogus'], /Unknown option/],
  ])('%j is bad usage', (argv, message) => {
    expect(() => parseImportArgs(argv)).toThrow(UsageError);
    expect(() => parseImportArgs(argv)).toThrow(message);
  });
});

describe('runImportCli', () => {
  it('exits 2 on bad usage, a missing file or an invalid mapping, before writing anything', async () => {
    const before = await env.eventCount();
    expect(await run(['--workspace', workspaceId])).toMatchObject({ code: 2, stderr: expect.stringMatching(/missing the CSV file[\s\S]*Usage: npm run import/) });
    expect(await run(['nope.csv', '--workspace', workspaceId, '--mapping', mappingFile])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read nope.csv: ENOENT/) });
    const badMapping = await env.file('{"email": "E-Mail", "age": {"column": "Alter", "type": "int"}}', 'bad.json');
    const file = await env.file(`E-Mail,Vorname,Alter\nada@example.com,Ada,1\n`);
    expect(await run([file, '--workspace', workspaceId, '--mapping', badMapping])).toMatchObject({ code: 2, stderr: expect.stringMatching(/mapping.age.type: type must be one of/) });
    expect(await run([file, '--workspace', workspaceId, '--mapping', await env.file('{', 'broken.json')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/is not JSON/) });
    expect(await run([file, '--workspace', 'ws-unknown', '--mapping', mappingFile])).toMatchObject({ code: 1, stderr: 'error: workspace ws-unknown not found\n' });
    expect(await env.eventCount()).toBe(before);
  });

  it('exits 0 with row errors listed in the summary, and shows progress', async () => {
    const file = await env.file(['E-Mail,Vorname,Alter', 'ada@example.com,Ada,36', 'bob@,Bob,1', 'grace@example.com,Grace,many', 'alan@example.com,Alan,41'].join('\n'));
    const updates: number[] = [];
    const progress: ProgressView = { start: (total) => updates.push(-total), update: (p) => updates.push(p.bytes), stop: () => updates.push(0) };
    const result = await run([file, '--workspace', workspaceId, '--mapping', mappingFile], progress);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Import completed\n {2}job: {8}[0-9a-f-]{36}\n {2}rows: {7}4 in/);
    expect(result.stdout).toContain('  created:    2\n');
    expect(result.stdout).toContain('  row errors: 2\n');
    expect(result.stdout).toContain('  row 3, E-Mail: email has an empty domain\n');
    expect(result.stdout).toContain('  row 4, Alter: "many" is not a number');
    expect(updates[0]).toBeLessThan(0);
    expect(updates.at(-2)).toBe(-updates[0]!); // all bytes read
    expect(updates.at(-1)).toBe(0);
  });

  it('prints JSON with --json and exits 1 when the job fails', async () => {
    const file = await env.file('E-Mail,Alter\nada@example.com,1\n');
    const result = await run([file, '--workspace', workspaceId, '--mapping', mappingFile, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'failed', error: 'column "Vorname" (mapped to first_name) is missing from the header', errors: [] });
  });

  it('re-runs a job by --job id without writing twice', async () => {
    const file = await env.file(['E-Mail,Vorname,Alter', 'tim@example.com,Tim,70'].join('\n'));
    const jobId = randomUUID();
    expect((await run([file, '--workspace', workspaceId, '--mapping', mappingFile, '--job', jobId, '--json'])).code).toBe(0);
    const before = await env.eventCount();
    const again = await run([file, '--workspace', workspaceId, '--mapping', mappingFile, '--job', jobId, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ jobId, status: 'completed', created: 1 });
    expect(await env.eventCount()).toBe(before);
  });
});
