/**
 * `npm run demo` end to end as a child process (embedded PostgreSQL on its own port, a small audience): it exits
 * 0 and says every eligible recipient got exactly one email.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../infra/freePort.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runDemo(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { DATABASE_URL: _ignored, DATA_DIR: _dataDir, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/sagas/demo/demo.ts'], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 55_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run demo', () => {
  it('launches a campaign to sample contacts and every eligible recipient gets exactly one email', async () => {
    // A port the OS says is free now (a fixed range inside the ephemeral range collided with client sockets).
    const port = String(await freePort());
    const result = await runDemo({ DEMO_CONTACTS: '30', EMBEDDED_PG_PORT: port });
    expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/OK: every eligible recipient \(27\) got exactly one email/);
    expect(result.stdout).toMatch(/GraphQL endpoint: http:\/\/127\.0\.0\.1:\d+\/graphql/);
  }, 60_000);
});
