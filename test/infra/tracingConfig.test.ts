import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infra/config.js';
import { startTracing } from '../../src/infra/tracing.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tracingEnabled, withSpan } from '../../src/infra/spans.js';

describe('tracing and readiness configuration', () => {
  it('is off by default, otlp when an endpoint is set, and names the variable of a bad value', () => {
    expect(loadConfig({}).tracing).toEqual({ exporter: 'none', endpoint: 'http://localhost:4318', serviceName: 'marketing-engine' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318/', OTEL_SERVICE_NAME: 'mkt-api' }).tracing).toEqual({ exporter: 'otlp', endpoint: 'http://tempo:4318', serviceName: 'mkt-api' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing.exporter).toBe('none');
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(new ConfigError('OTEL_TRACES_EXPORTER', 'must be one of none, otlp, console, got "jaeger"'));
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://tempo:4317' })).toThrow(/^Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must use http:\/\/ or https:\/\//);
    expect(loadConfig({}).projectionStuckAfterMs).toBe(60_000);
    expect(loadConfig({ PROJECTION_STUCK_AFTER_SECONDS: '5' }).projectionStuckAfterMs).toBe(5_000);
    expect(() => loadConfig({ PROJECTION_STUCK_AFTER_SECONDS: '0' })).toThrow(/PROJECTION_STUCK_AFTER_SECONDS must be an integer from 1 to 86400/);
  });

  it('starts nothing when off; when on, exports spans over OTLP/HTTP to <endpoint>/v1/traces', async () => {
    const off = await startTracing(loadConfig({}).tracing);
    expect(off.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);

    const received: { url: string | undefined; type: string | undefined; bytes: number }[] = [];
    const collector = createServer((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        received.push({ url: request.url, type: request.headers['content-type'], bytes });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const on = await startTracing(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'otlp-test' }).tracing);
      expect(on.enabled).toBe(true);
      expect(tracingEnabled()).toBe(true);
      await withSpan('exported', { 'correlation.id': 'otlp' }, async () => {});
      await on.shutdown(); // flushes the batch
      expect(tracingEnabled()).toBe(false);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ url: '/v1/traces' });
      expect(received[0]!.bytes).toBeGreaterThan(0);
    } finally {
      collector.close();
    }
  });
});
