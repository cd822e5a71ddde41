/**
 * Configuration from the environment, validated once at start-up. A bad value stops start-up with one message
 * naming the variable (ConfigError), never a stack trace from deep inside a client library.
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

export const ROLES = ['api', 'relay', 'projector', 'saga'] as const;
export type Role = (typeof ROLES)[number];

export interface Config {
  /** undefined → embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly eventStore: 'postgres' | 'esdb';
  readonly esdbConnectionString: string | undefined;
  readonly natsUrl: string;
  readonly natsPrefix: string;
  readonly smtpUrl: string | undefined;
  readonly publicBaseUrl: string;
  readonly trackingSecret: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly nodeEnv: string;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly roles: readonly Role[];
  /** Requests per minute: per API key (GraphQL), per key on webhooks, per client IP on tracking links; null = unlimited. */
  readonly rateLimits: RateLimits;
  /** fastify's trustProxy: behind a reverse proxy, the client IP (for per-IP rate limits) comes from X-Forwarded-For. */
  readonly trustProxy: boolean | string;
  readonly tracing: TracingConfig;
  /** /ready fails for a projection this process leads that is behind and has not moved for this long. */
  readonly projectionStuckAfterMs: number;
}

/** OpenTelemetry traces: off unless an exporter is chosen (or an OTLP endpoint is set). */
export interface TracingConfig {
  readonly exporter: 'none' | 'otlp' | 'console';
  /** OTLP/HTTP base URL (`/v1/traces` is appended), e.g. http://localhost:4318. */
  readonly endpoint: string;
  readonly serviceName: string;
}

export interface RateLimits {
  readonly apiPerMinute: number | null;
  readonly webhookPerMinute: number | null;
  readonly trackingPerMinute: number | null;
  /** Failed authentications per client IP a minute, after which the client is refused until the minute ends. */
  readonly authFailuresPerMinute: number | null;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const eventStore = oneOf(env, 'EVENT_STORE', ['postgres', 'esdb'] as const, 'postgres');
  const esdbConnectionString = optional(env, 'ESDB_CONNECTION_STRING');
  if (eventStore === 'esdb') {
    if (esdbConnectionString === undefined) throw new ConfigError('ESDB_CONNECTION_STRING', 'is required when EVENT_STORE=esdb');
    urlOf('ESDB_CONNECTION_STRING', esdbConnectionString, ['esdb:', 'esdb+discover:']);
  }
  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== undefined) urlOf('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
  const natsUrl = optional(env, 'NATS_URL') ?? 'nats://127.0.0.1:4222';
  for (const server of natsUrl.split(',')) urlOf('NATS_URL', server.trim(), ['nats:', 'tls:', 'ws:', 'wss:']);
  const natsPrefix = optional(env, 'NATS_PREFIX') ?? 'mkt';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(natsPrefix)) {
    throw new ConfigError('NATS_PREFIX', `must be 1-32 letters, digits, '_' or '-' (one subject token), got ${JSON.stringify(natsPrefix)}`);
  }
  const smtpUrl = optional(env, 'SMTP_URL');
  if (smtpUrl !== undefined) urlOf('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  const port = integer(env, 'PORT', 4000, 0, 65535);
  const publicBaseUrl = optional(env, 'PUBLIC_BASE_URL') ?? `http://localhost:${port}`;
  urlOf('PUBLIC_BASE_URL', publicBaseUrl, ['http:', 'https:']);
  const nodeEnv = optional(env, 'NODE_ENV') ?? 'development';
  const trackingSecret = optional(env, 'TRACKING_SECRET');
  if (trackingSecret !== undefined && trackingSecret.length < 32) {
    throw new ConfigError('TRACKING_SECRET', 'must be at least 32 characters');
  }
  if (trackingSecret === undefined && nodeEnv === 'production') {
    throw new ConfigError('TRACKING_SECRET', 'is required when NODE_ENV=production');
  }
  const rolesRaw = optional(env, 'ROLES') ?? ROLES.join(',');
  const roles = rolesRaw.split(',').map((r) => r.trim());
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ConfigError('ROLES', `has unknown role ${JSON.stringify(role)}; use a comma-separated subset of ${ROLES.join(', ')}`);
    }
  }
  return {
    databaseUrl,
    eventStore,
    esdbConnectionString,
    natsUrl,
    natsPrefix,
    smtpUrl,
    publicBaseUrl,
    trackingSecret,
    port,
    host: optional(env, 'HOST') ?? '127.0.0.1',
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    nodeEnv,
    dataDir: optional(env, 'DATA_DIR') ?? '.data',
    embeddedPgPort: integer(env, 'EMBEDDED_PG_PORT', 25432, 1, 65535),
    roles: roles as Role[],
    rateLimits: rateLimitsOf(env),
    trustProxy: trustProxyOf(optional(env, 'TRUST_PROXY')),
    tracing: tracingOf(env),
    projectionStuckAfterMs: integer(env, 'PROJECTION_STUCK_AFTER_SECONDS', 60, 1, 86_400) * 1000,
  };
}

/** OTEL_TRACES_EXPORTER defaults to otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set, else none (tracing off). */
function tracingOf(env: Env): TracingConfig {
  const endpoint = optional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint !== undefined) urlOf('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint, ['http:', 'https:']);
  const exporter = oneOf(env, 'OTEL_TRACES_EXPORTER', ['none', 'otlp', 'console'] as const, endpoint === undefined ? 'none' : 'otlp');
  const serviceName = optional(env, 'OTEL_SERVICE_NAME') ?? 'marketing-engine';
  return { exporter, endpoint: (endpoint ?? 'http://localhost:4318').replace(/\/+$/, ''), serviceName };
}

/** `true` (trust every hop) or a comma-separated list of proxy addresses / CIDR ranges. */
function trustProxyOf(raw: string | undefined): boolean | string {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (!/^[0-9A-Fa-f.:/]+(?:\s*,\s*[0-9A-Fa-f.:/]+)*$/.test(raw)) {
    throw new ConfigError('TRUST_PROXY', `must be true, false or a comma-separated list of proxy addresses, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/** RATE_LIMIT=off turns every limit off; a per-group value of 0 turns that group off. */
function rateLimitsOf(env: Env): RateLimits {
  const enabled = oneOf(env, 'RATE_LIMIT', ['on', 'off'] as const, 'on') === 'on';
  const perMinute = (name: string, fallback: number): number | null => {
    const value = integer(env, name, fallback, 0, 1_000_000);
    return enabled && value > 0 ? value : null;
  };
  return {
    apiPerMinute: perMinute('RATE_LIMIT_API_PER_MINUTE', 1_200),
    webhookPerMinute: perMinute('RATE_LIMIT_WEBHOOK_PER_MINUTE', 600),
    trackingPerMinute: perMinute('RATE_LIMIT_TRACKING_PER_MINUTE', 6_000),
    authFailuresPerMinute: perMinute('RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 60),
  };
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = optional(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function urlOf(name: string, value: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `is not a URL: ${JSON.stringify(redact(value))}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must use ${protocols.map((p) => `${p}//`).join(' or ')}, got ${url.protocol}//`);
  }
  return url;
}

/** Hides a password in a URL before it goes into an error message or a log line. */
export function redact(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@');
  }
}
