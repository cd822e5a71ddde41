import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/infra/config.js';
import type { ApiTestEnv } from '../api/support.js';

/**
 * Servers on the file's test environment, each with its own configuration from environment-style overrides
 * (`{ RATE_LIMIT_API_PER_MINUTE: '5' }`), all closed after the file. Call at the file's top level.
 */
export function serversWithConfig(env: ApiTestEnv): { configWith(extra: Record<string, string>): Config; serverWith(extra: Record<string, string>): Promise<FastifyInstance> } {
  const servers: FastifyInstance[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const configWith = (extra: Record<string, string>) => loadConfig({ NODE_ENV: 'test', DATABASE_URL: env.url, LOG_LEVEL: 'silent', ...extra });
  return {
    configWith,
    async serverWith(extra) {
      const server = await buildServer({ ...env.deps, config: configWith(extra) });
      servers.push(server);
      return server;
    },
  };
}
