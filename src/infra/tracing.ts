import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from './config.js';
import type { Logger } from './logger.js';
import { setTracingEnabled } from './spans.js';

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered and stops tracing (the API falls back to no-ops). */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

/**
 * The OpenTelemetry SDK, started only when tracing is configured (OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT):
 * a NodeTracerProvider with the service's resource, registered globally (AsyncLocalStorage context, W3C
 * propagation), exporting in batches over OTLP/HTTP (or to stdout with `console`). The SDK modules are imported
 * here and only here, lazily, so a process without tracing never loads them. Sampling follows the standard
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG variables (default: parent-based, always on).
 *
 * `extraProcessors` (tests): span processors added to the configured one; with them, tracing runs even when the
 * exporter is `none`.
 */
export async function startTracing(config: TracingConfig, logger?: Logger, extraProcessors: readonly SpanProcessor[] = []): Promise<Tracing> {
  if (config.exporter === 'none' && extraProcessors.length === 0) return OFF;
  const [{ NodeTracerProvider }, { BatchSpanProcessor, ConsoleSpanExporter }, { resourceFromAttributes }, { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const processors: SpanProcessor[] = [...extraProcessors];
  if (config.exporter === 'otlp') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${config.endpoint}/v1/traces` })));
  } else if (config.exporter === 'console') {
    processors.push(new BatchSpanProcessor(new ConsoleSpanExporter()));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: process.env.npm_package_version ?? '0.1.0' }),
    spanProcessors: processors,
  });
  provider.register();
  setTracingEnabled(true);
  logger?.info({ exporter: config.exporter, endpoint: config.exporter === 'otlp' ? config.endpoint : undefined, serviceName: config.serviceName }, 'tracing on');
  return {
    enabled: true,
    async shutdown() {
      setTracingEnabled(false);
      await provider.shutdown().catch((error: unknown) => logger?.warn({ err: error }, 'exporting the last spans failed'));
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
