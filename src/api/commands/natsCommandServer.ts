import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CORRELATION_ATTRIBUTE, SpanKind, withSpan } from '../../infra/spans.js';
import { ApiError, mapError, unauthenticated } from '../errors.js';
import { authenticate } from '../iam/authenticate.js';
import { FixedWindows } from '../iam/fixedWindows.js';
import { UNSTORABLE_TEXT_MESSAGE, unstorableTextPath } from '../storableText.js';
import { dispatchCommand, type CommandDefinition, type CommandDeps, type CommandOutcome } from './catalog.js';
import { COMMANDS } from './index.js';

export const CORRELATION_HEADER = 'Mkt-Correlation-Id';

export interface NatsCommandServerOptions {
  /** Commands per API key a minute (null: unlimited); over it the reply is RATE_LIMITED. */
  readonly perKeyPerMinute?: number | null;
}

/**
 * NATS request/reply for every command: `<prefix>.commands.<CommandName>`, headers `Authorization: Bearer <key>`
 * and optionally `Mkt-Correlation-Id`, body `{ "commandId": "...", "input": { ... } }`. The reply is
 * `{ "ok": true, "result": {...} }` or `{ "ok": false, "error": { code, message, retryable, details } }`,
 * with the same codes as GraphQL. A queue group spreads requests over API instances. The per-key limit
 * (RATE_LIMIT_API_PER_MINUTE) is counted apart from the key's GraphQL requests, in each instance.
 */
export class NatsCommandServer {
  private subscription: Subscription | null = null;
  private inFlight = new Set<Promise<void>>();
  /** Commands per API key in one-minute windows; null: unlimited. */
  private readonly perKey: { readonly max: number; readonly windows: FixedWindows } | null;

  constructor(
    private readonly nats: NatsConnection,
    private readonly prefix: string,
    private readonly deps: CommandDeps,
    // The catalog holds commands of different input types; each checks its own input in `parse`.
    private readonly commands: readonly CommandDefinition<any>[] = COMMANDS, // eslint-disable-line @typescript-eslint/no-explicit-any
    options: NatsCommandServerOptions = {},
  ) {
    this.perKey = options.perKeyPerMinute == null ? null : { max: options.perKeyPerMinute, windows: new FixedWindows(60_000) };
  }

  start(): void {
    this.subscription = this.nats.subscribe(`${this.prefix}.commands.*`, {
      queue: `${this.prefix}-commands`,
      callback: (error, message) => {
        if (error !== null) return;
        const handling = this.handle(message).finally(() => this.inFlight.delete(handling));
        this.inFlight.add(handling);
      },
    });
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await Promise.allSettled([...this.inFlight]);
  }

  /** A server span per request, continuing the caller's W3C `traceparent` header, so the command joins its trace. */
  private handle(message: Msg): Promise<void> {
    const correlationId = sanitize(message.headers?.get(CORRELATION_HEADER)) ?? randomUUID();
    const traceparent = message.headers?.get('traceparent') ?? '';
    const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': message.subject, [CORRELATION_ATTRIBUTE]: correlationId };
    return withSpan(`nats command ${message.subject.slice(`${this.prefix}.commands.`.length)}`, attributes, () => this.answer(message, correlationId), {
      kind: SpanKind.SERVER,
      parent: traceparent === '' ? null : traceparent,
    });
  }

  private async answer(message: Msg, correlationId: string): Promise<void> {
    const log = this.deps.logger.child({ component: 'nats-commands', correlationId, subject: message.subject });
    try {
      const name = message.subject.slice(`${this.prefix}.commands.`.length);
      const definition = this.commands.find((c) => c.name === name);
      if (definition === undefined) throw new ApiError('NOT_FOUND', `Unknown command ${JSON.stringify(name)}.`);
      const token = /^Bearer (.+)$/.exec(message.headers?.get('Authorization') ?? '')?.[1];
      const principal = token === undefined ? null : await authenticate(this.deps.db, token);
      if (principal === null) throw unauthenticated('A valid API key is required in the Authorization header (Bearer <key>).');
      this.countRequest(principal.apiKeyId);
      const body = parseBody(message.data);
      const outcome = await dispatchCommand({ ...this.deps, logger: log }, definition, body.input, { principal, correlationId, commandId: body.commandId });
      message.respond(JSON.stringify({ ok: true, result: toJson(outcome) }));
    } catch (error) {
      const mapped = mapError(error);
      if (mapped.code === 'INTERNAL') log.error({ err: error }, 'command failed');
      message.respond(JSON.stringify({ ok: false, error: mapped }));
    }
  }

  private countRequest(apiKeyId: string): void {
    if (this.perKey === null) return;
    const { max, windows } = this.perKey;
    const { count, ttlMs } = windows.hit(apiKeyId);
    if (count <= max) return;
    const retryAfterSeconds = Math.ceil(ttlMs / 1_000);
    throw new ApiError('RATE_LIMITED', `Too many commands: at most ${max} a minute per API key. Retry in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  }
}

function parseBody(data: Uint8Array): { commandId: string | null; input: unknown } {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new ApiError('BAD_USER_INPUT', 'The request body must be JSON: { "commandId": "...", "input": { ... } }.', { field: 'body' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('BAD_USER_INPUT', 'The request body must be a JSON object with "input".', { field: 'body' });
  }
  const unstorable = unstorableTextPath(body);
  if (unstorable !== null) throw new ApiError('BAD_USER_INPUT', `${unstorable} ${UNSTORABLE_TEXT_MESSAGE}.`, { field: unstorable });
  const { commandId, input } = body as { commandId?: unknown; input?: unknown };
  if (commandId !== undefined && commandId !== null && typeof commandId !== 'string') {
    throw new ApiError('BAD_USER_INPUT', 'commandId must be a string.', { field: 'commandId' });
  }
  return { commandId: (commandId as string | undefined) ?? null, input };
}

function sanitize(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Za-z0-9_:.-]{1,100}$/.test(value) ? value : undefined;
}

export function toJson(outcome: CommandOutcome): Record<string, unknown> {
  return { ...outcome, position: outcome.position === null ? null : outcome.position.toString() };
}
