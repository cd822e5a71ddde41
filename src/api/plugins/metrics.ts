import fp from 'fastify-plugin';
import { registry } from '../../infra/metrics.js';

/** GET /metrics in the Prometheus text format (public, like /health: no personal data in any label). */
export const metricsPlugin = fp(
  async (app) => {
    app.get('/metrics', { config: { public: true }, logLevel: 'warn' }, async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics', fastify: '5.x' },
);
