import fp from 'fastify-plugin';
import { sql } from 'kysely';
import type { ReadinessCheck, ServerDeps } from '../deps.js';

const CHECK_TIMEOUT_MS = 2_000;
const MAX_ERROR_LENGTH = 400;

type CheckResult = { ok: true } | { ok: false; error: string };

/**
 * `GET /health`: the process serves (liveness). `GET /ready`: every dependency answers within ~2 s
 * (readiness); a load balancer stops sending traffic while it is 503. Both are public.
 */
export const healthPlugin = fp<{ deps: ServerDeps }>(
  async (app, { deps }) => {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    const checks: ReadinessCheck[] = [
      { name: 'postgres', check: async () => void (await sql`select 1`.execute(deps.db)) },
      {
        name: 'nats',
        check: async () => {
          if (deps.nats.isClosed()) throw new Error('NATS connection is closed');
          await deps.nats.flush();
        },
      },
      { name: 'eventStore', check: () => deps.eventStore.ping() },
      ...(deps.readinessChecks ?? []),
    ];

    app.get('/health', { config: { public: true } }, async () => ({ status: 'ok' }));

    app.get('/ready', { config: { public: true } }, async (request, reply) => {
      const results = await Promise.all(checks.map(async (c) => [c.name, await run(c)] as const));
      const failed = results.filter(([, r]) => !r.ok);
      if (closing) failed.push(['server', { ok: false, error: 'shutting down' }]);
      const body = Object.fromEntries(results);
      if (failed.length === 0) return { status: 'ready', checks: body };
      request.log.warn({ failed: Object.fromEntries(failed) }, 'not ready');
      return reply.code(503).send({ status: 'not_ready', checks: { ...body, ...Object.fromEntries(failed) } });
    });
  },
  { name: 'health', fastify: '5.x' },
);

async function run(check: ReadinessCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: message.slice(0, MAX_ERROR_LENGTH) };
  } finally {
    clearTimeout(timer);
  }
}
