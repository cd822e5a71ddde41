import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimits } from '../../infra/config.js';
import { ApiError } from '../errors.js';
import { FixedWindows } from '../iam/fixedWindows.js';

const WINDOW_MS = 60_000;
/** Probes are never limited: a load balancer or Prometheus must always get an answer. */
const UNLIMITED_URLS = new Set(['/health', '/ready', '/metrics']);

type Group = 'api' | 'webhook' | 'tracking';

/** Which limit a route falls under (by its URL pattern), or null for none. */
function groupOf(url: string): Group | null {
  if (UNLIMITED_URLS.has(url)) return null;
  if (url.startsWith('/t/')) return 'tracking';
  if (url.startsWith('/webhooks/')) return 'webhook';
  return 'api';
}

/**
 * One store of fixed one-minute windows for every route, so that a group's routes (GET and POST /graphql, the
 * tracking routes) share one counter per key: the limiter appends the group to the key. The library's default
 * store would count each route apart. Every route is configured with WINDOW_MS (below), so the window the
 * library passes is always that one.
 */
class SharedWindowStore {
  private readonly windows = new FixedWindows(WINDOW_MS);

  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void {
    const { count, ttlMs } = this.windows.hit(key);
    callback(null, { current: count, ttl: ttlMs });
  }

  child(): SharedWindowStore {
    return this;
  }
}

/**
 * The authenticated API key when there is one (auth's onRequest hook runs before the route-level hook the
 * limiter adds), else the client IP (tracking links, a WebSocket that authenticates in connection_init).
 * Behind a reverse proxy, set TRUST_PROXY so that `request.ip` is the client's, not the proxy's.
 */
export function rateLimitKeyOf(request: FastifyRequest): string {
  return request.principal === null ? `ip:${request.ip}` : `key:${request.principal.apiKeyId}`;
}

/**
 * Requests per minute per API key (GraphQL and everything authenticated), per key on the bounce webhook, per
 * client IP on tracking links; each group counts separately. Over the limit: 429 RATE_LIMITED with Retry-After
 * (seconds). Counters are per process (fastify's in-memory store): with N API instances behind a balancer
 * a key can make up to N times the limit. Must be registered after auth and before the routes it limits.
 */
export const rateLimitPlugin = fp<{ limits: RateLimits }>(
  async (app, { limits }) => {
    const perMinute: Record<Group, number | null> = { api: limits.apiPerMinute, webhook: limits.webhookPerMinute, tracking: limits.trackingPerMinute };
    if (Object.values(perMinute).every((max) => max === null)) return;
    // Before the limiter's own onRoute hook (registered next) reads the route's config.
    app.addHook('onRoute', (route) => {
      const group = groupOf(route.url);
      const max = group === null ? null : perMinute[group];
      route.config = { ...route.config, rateLimit: max === null ? false : { max, timeWindow: WINDOW_MS, groupId: group! } };
    });
    await app.register(fastifyRateLimit, {
      global: false,
      hook: 'onRequest',
      keyGenerator: rateLimitKeyOf,
      store: SharedWindowStore,
      errorResponseBuilder: (_request, context) =>
        new ApiError('RATE_LIMITED', `Too many requests: at most ${context.max} a minute. Retry in ${context.after}.`, { retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
    });
  },
  { name: 'rate-limit', fastify: '5.x', dependencies: ['auth', 'errors'] },
);
