import { pino, type DestinationStream, type Logger } from 'pino';
import { traceLogFields } from './spans.js';

export type { Logger };

/**
 * The one pino logger factory. Secrets are redacted by path; components get child loggers with
 * `{ component }`, requests and commands add `{ correlationId }`. While tracing is on, a line written inside a
 * span carries its `trace_id` and `span_id` (a mixin), so a log line leads to its trace and back.
 */
export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const settings = {
    name: options.name ?? 'marketing-engine',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    mixin: traceLogFields,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'apiKey', 'key', 'password', 'secret', '*.password', '*.secret'],
      censor: '[redacted]',
    },
  };
  // A destination lets tests capture the lines (to check that no secret is ever logged); stdout otherwise.
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

/** A logger that writes nothing, for tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
