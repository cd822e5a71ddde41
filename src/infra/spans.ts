import {
  context,
  createContextKey,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * Spans for the code paths, through @opentelemetry/api only (the SDK is loaded by tracing.ts when tracing is on).
 * While tracing is off every helper returns at its first line, so the hot paths (appendMany) pay one branch.
 *
 * The correlation id travels in the context: a span started here carries `correlation.id` from its attributes or,
 * failing that, from the span it runs under; across the asynchronous hops (event metadata, NATS headers) it is
 * taken from the event.
 */

let enabled = false;

/** Called by tracing.ts only. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

export const CORRELATION_ATTRIBUTE = 'correlation.id';
const CORRELATION = createContextKey('mkt.correlation.id');
const TRACER_NAME = 'marketing-engine';

export interface SpanOptions {
  readonly kind?: SpanKind;
  /** A W3C traceparent to continue (the span becomes its child); null/undefined: the active context. */
  readonly parent?: string | null;
  /** Links to other spans (a batch of events from many traces; see linkTo). */
  readonly links?: readonly Link[];
  /** Start a new trace even inside an active span. */
  readonly root?: boolean;
}

/** Runs `fn` inside a new active span; records an exception and the error status when it throws. */
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  if (!enabled) return fn(undefined);
  let parent = options.root === true ? ROOT_CONTEXT : context.active();
  if (options.parent != null) parent = contextOf(options.parent) ?? parent;
  const correlationId = attributes[CORRELATION_ATTRIBUTE] ?? parent.getValue(CORRELATION);
  const attrs = correlationId === undefined ? attributes : { ...attributes, [CORRELATION_ATTRIBUTE]: correlationId as string };
  const ctx = correlationId === undefined ? parent : parent.setValue(CORRELATION, correlationId);
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: attrs, links: options.links === undefined ? [] : [...options.links] }, ctx, async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
}

/** A span the caller ends itself (e.g. when a publish is acknowledged); undefined while tracing is off. */
export function startSpan(name: string, attributes: Attributes, options: SpanOptions = {}): Span | undefined {
  if (!enabled) return undefined;
  const parent = options.parent != null ? (contextOf(options.parent) ?? context.active()) : context.active();
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes, links: options.links === undefined ? [] : [...options.links] }, parent);
}

/** Runs `fn` with `span` active (and the correlation id in the context), for spans started with startSpan. */
export function runInSpan<T>(span: Span | undefined, correlationId: string, fn: () => T): T {
  if (span === undefined) return fn();
  return context.with(trace.setSpan(context.active().setValue(CORRELATION, correlationId), span), fn);
}

/** Ends a span started with startSpan, with the error status when `error` is given. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (span === undefined) return;
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** The W3C traceparent of the active span when it is sampled (what goes into event metadata); else undefined. */
export function activeTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan();
  return span === undefined ? undefined : traceparentOf(span);
}

export function traceparentOf(span: Span): string | undefined {
  const sc = span.spanContext();
  if ((sc.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-01`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The remote span context of a traceparent; undefined when absent or malformed (a bad header never fails a request). */
export function spanContextOf(traceparent: string | null | undefined): SpanContext | undefined {
  // Metadata comes from outside too (any appender): anything but a well-formed string is ignored.
  const match = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null;
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

function contextOf(traceparent: string): Context | undefined {
  const sc = spanContextOf(traceparent);
  return sc === undefined ? undefined : trace.setSpanContext(ROOT_CONTEXT, sc);
}

/** A link to the span a traceparent names, with attributes (e.g. the event's correlation id); undefined when invalid. */
export function linkTo(traceparent: string | null | undefined, attributes?: Attributes): Link | undefined {
  const sc = spanContextOf(traceparent);
  return sc === undefined ? undefined : { context: sc, ...(attributes === undefined ? {} : { attributes }) };
}

/** A message of a batch that arrived inside a trace. */
export interface TracedMessage {
  readonly traceparent: string | null | undefined;
  readonly correlationId: string;
}

const MAX_LINKS = 100;

/**
 * A span over a batch of messages (projector batch, saga step). When every traced message belongs to one trace
 * (the usual case: one command's events) the span is a child in that trace; when they come from several traces
 * it starts its own trace and links to each message's span (OpenTelemetry's tool for batches). No traced
 * message (or tracing off): no span.
 */
export function withBatchSpan<T>(name: string, attributes: Attributes, messages: readonly TracedMessage[], fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!enabled) return fn(undefined);
  const traced = messages.filter((m) => spanContextOf(m.traceparent) !== undefined);
  if (traced.length === 0) return fn(undefined);
  const traceIds = new Set(traced.map((m) => spanContextOf(m.traceparent)!.traceId));
  const correlationIds = [...new Set(traced.map((m) => m.correlationId))];
  const links = traced.slice(traceIds.size === 1 ? 1 : 0, MAX_LINKS).flatMap((m) => linkTo(m.traceparent, { [CORRELATION_ATTRIBUTE]: m.correlationId }) ?? []);
  const attrs = { ...attributes, 'messaging.batch.message_count': messages.length, [CORRELATION_ATTRIBUTE]: correlationIds.length === 1 ? correlationIds[0]! : correlationIds.slice(0, MAX_LINKS) };
  return withSpan(name, attrs, fn, { kind: SpanKind.CONSUMER, links, ...(traceIds.size === 1 ? { parent: traced[0]!.traceparent } : { root: true }) });
}

/**
 * `{ trace_id, span_id }` of the active span for log lines (pino mixin); empty while tracing is off. A new object
 * every time: pino merges the line's own fields into what the mixin returns.
 */
export function traceLogFields(): Record<string, string> {
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

export { SpanKind };
