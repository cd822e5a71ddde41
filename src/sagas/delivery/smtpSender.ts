import nodemailer, { type NodemailerError } from 'nodemailer';
import type { Logger } from '../../infra/logger.js';
import { trackSmtpCircuit } from '../../infra/metrics.js';
import { SpanKind, withSpan } from '../../infra/spans.js';
import { CircuitBreaker, type CircuitState } from './circuitBreaker.js';
import { backoffDelay, Semaphore, sleep, TokenBucket } from './flowControl.js';
import { messageIdFor, senderDomainOf } from './identifiers.js';

export { CircuitOpenError, type CircuitState } from './circuitBreaker.js';

/** One rendered email for one recipient. */
export interface OutgoingEmail {
  readonly campaignId: string;
  readonly variantKey: string;
  readonly contactId: string;
  readonly to: string;
  readonly from: { readonly email: string; readonly name: string | null };
  readonly replyTo: string | null;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** The signed one-click URL (`<PUBLIC_BASE_URL>/t/u/<token>`), see trackingTokens.ts. */
  readonly unsubscribeUrl: string;
}

export interface SendResult {
  /** true: the provider answered 250. false: it refused the message for good (5xx, or 4xx until attempts ran out). */
  readonly accepted: boolean;
  /** Without angle brackets. */
  readonly messageId: string;
  readonly response: string;
  readonly smtpCode: number | null;
  readonly attempts: number;
}

/** What the launch saga needs from a sender. */
export interface EmailSender {
  /** Preflight: connects and authenticates once; throws when the provider is unusable. */
  verify(): Promise<void>;
  /**
   * Resolves with the provider's answer. Throws CircuitOpenError (failing fast, nothing sent),
   * ProviderUnavailableError (the provider could not be reached; nothing sent) or DeliveryOutcomeUnknownError
   * (the connection was lost during the session: the message may or may not have been accepted).
   */
  send(message: OutgoingEmail): Promise<SendResult>;
  close(): Promise<void>;
  readonly circuitState: CircuitState;
}

/** The provider could not be reached or refused the session (connection refused, 421, auth); nothing was sent. */
export class ProviderUnavailableError extends Error {
  readonly code = 'SMTP_PROVIDER_UNAVAILABLE';
  constructor(message: string, readonly attempts: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderUnavailableError';
  }
}

/** The connection broke while the message may already have been handed over: only reconciliation can tell. */
export class DeliveryOutcomeUnknownError extends Error {
  readonly code = 'SMTP_OUTCOME_UNKNOWN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryOutcomeUnknownError';
  }
}

export interface SmtpSenderOptions {
  readonly smtpUrl: string;
  readonly logger: Logger;
  readonly maxConnections?: number;
  /** Sends in flight at once; default maxConnections. */
  readonly concurrency?: number;
  readonly ratePerSecond?: number;
  readonly burst?: number;
  /** Attempts per message for temporary failures (4xx, unreachable provider); default 4. */
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly circuit?: { readonly failureThreshold?: number; readonly windowMs?: number; readonly coolDownMs?: number; readonly now?: () => number };
  /** The mailto: of List-Unsubscribe; default `unsubscribe@<sender domain>`. */
  readonly unsubscribeMailbox?: string;
  readonly timeoutsMs?: { readonly connection?: number; readonly greeting?: number; readonly socket?: number };
  readonly random?: () => number;
}

type Failure =
  | { readonly kind: 'rejected'; readonly permanent: boolean; readonly smtpCode: number | null; readonly response: string }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

/** Before a session exists nothing can have been handed over: these socket failures are safe to retry. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT']);

/** Classifies a nodemailer error by its SMTP reply code, its error code and where the connection broke. */
export function classifySmtpError(error: unknown): Failure {
  const e = (error ?? {}) as NodemailerError;
  const reason = e.message ?? String(error);
  const code = e.code ?? '';
  if (e.responseCode === 421) return { kind: 'unavailable', reason };
  if (typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 600) {
    // 503 (bad sequence) is about the session, not the message: the same message may pass on a new connection.
    const permanent = e.responseCode >= 500 && e.responseCode !== 503;
    return { kind: 'rejected', permanent, smtpCode: e.responseCode, response: e.response ?? reason };
  }
  if (['EDNS', 'ETLS', 'EAUTH', 'ENOAUTH', 'EPROXY'].includes(code)) return { kind: 'unavailable', reason };
  if (CONNECTION_CODES.has(code)) {
    if (UNREACHABLE.has(e.originalCode ?? '')) return { kind: 'unavailable', reason };
    if (e.timeoutType === 'CONNECT_TIMEOUT' || e.timeoutType === 'GREETING_TIMEOUT') return { kind: 'unavailable', reason };
    return { kind: 'unknown', reason };
  }
  // EENVELOPE, EMESSAGE, ESTREAM...: this message cannot be sent as it is.
  return { kind: 'rejected', permanent: true, smtpCode: null, response: reason };
}

export function createSmtpSender(options: SmtpSenderOptions): EmailSender {
  const log = options.logger.child({ component: 'smtpSender' });
  const maxConnections = options.maxConnections ?? 5;
  const maxAttempts = options.maxAttempts ?? 4;
  const baseMs = options.backoffBaseMs ?? 500;
  const maxMs = options.backoffMaxMs ?? 30_000;
  const random = options.random ?? Math.random;
  const transport = nodemailer.createTransport({
    pool: true,
    url: options.smtpUrl,
    maxConnections,
    // The pool would otherwise resend a message whose connection closed mid-send on its own: a possible
    // duplicate the ledger cannot see. Retries are decided here, from the error's class.
    maxRequeues: 0,
    connectionTimeout: options.timeoutsMs?.connection ?? 10_000,
    greetingTimeout: options.timeoutsMs?.greeting ?? 10_000,
    socketTimeout: options.timeoutsMs?.socket ?? 60_000,
  });
  const bucket = new TokenBucket(options.ratePerSecond ?? 50, options.burst ?? 1);
  const slots = new Semaphore(options.concurrency ?? maxConnections);
  const circuit = new CircuitBreaker({
    failureThreshold: options.circuit?.failureThreshold ?? 5,
    windowMs: options.circuit?.windowMs ?? 60_000,
    coolDownMs: options.circuit?.coolDownMs ?? 30_000,
    ...(options.circuit?.now === undefined ? {} : { now: options.circuit.now }),
    onStateChange: (state) => log.warn({ circuit: state }, 'SMTP circuit changed state'),
  });
  let verified: Promise<void> | null = null;
  const untrackCircuit = trackSmtpCircuit(() => circuit.current);

  async function verifyOnce(): Promise<void> {
    circuit.beforeCall();
    try {
      await transport.verify();
      circuit.onSuccess();
    } catch (error) {
      const failure = classifySmtpError(error);
      if (failure.kind === 'rejected') {
        circuit.onSuccess();
        throw error;
      }
      circuit.onProviderFailure();
      throw new ProviderUnavailableError(`SMTP preflight failed: ${failure.reason}`, 1, { cause: error });
    }
  }

  function verify(): Promise<void> {
    verified ??= verifyOnce().catch((error: unknown) => {
      verified = null;
      throw error;
    });
    return verified;
  }

  async function attemptLoop(message: OutgoingEmail): Promise<SendResult> {
    const domain = senderDomainOf(message.from.email);
    const messageId = messageIdFor(message.campaignId, message.variantKey, message.contactId, domain);
    const mailbox = options.unsubscribeMailbox ?? `unsubscribe@${domain}`;
    const mailto = `mailto:${mailbox}?subject=${encodeURIComponent(`unsubscribe ${messageId}`)}`;
    for (let attempt = 1; ; attempt++) {
      circuit.beforeCall();
      await bucket.take();
      try {
        const info = await transport.sendMail({
          messageId: `<${messageId}>`,
          from: message.from.name === null ? message.from.email : { name: message.from.name, address: message.from.email },
          to: message.to,
          ...(message.replyTo === null ? {} : { replyTo: message.replyTo }),
          subject: message.subject,
          html: message.html,
          text: message.text,
          headers: {
            'List-Unsubscribe': `<${message.unsubscribeUrl}>, <${mailto}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        });
        circuit.onSuccess();
        return { accepted: true, messageId, response: info.response, smtpCode: Number(/^\d{3}/.exec(info.response)?.[0] ?? 250), attempts: attempt };
      } catch (error) {
        const failure = classifySmtpError(error);
        if (failure.kind === 'unknown') {
          circuit.onProviderFailure();
          throw new DeliveryOutcomeUnknownError(`Connection lost while sending ${messageId}: ${failure.reason}`, { cause: error });
        }
        if (failure.kind === 'rejected') {
          circuit.onSuccess();
          if (failure.permanent || attempt >= maxAttempts) {
            return { accepted: false, messageId, response: failure.response, smtpCode: failure.smtpCode, attempts: attempt };
          }
        } else {
          circuit.onProviderFailure();
          if (attempt >= maxAttempts) throw new ProviderUnavailableError(`SMTP provider unavailable: ${failure.reason}`, attempt, { cause: error });
        }
        const delay = backoffDelay(attempt, baseMs, maxMs, random);
        log.debug({ messageId, attempt, delay, failure }, 'temporary SMTP failure; retrying');
        await sleep(delay);
      }
    }
  }

  return {
    verify,
    send(message) {
      return withSpan('email send', { 'campaign.id': message.campaignId, 'email.variant': message.variantKey }, async (span) => {
        await verify();
        const result = await slots.run(() => attemptLoop(message));
        span?.setAttributes({ 'email.accepted': result.accepted, 'email.attempts': result.attempts, ...(result.smtpCode === null ? {} : { 'smtp.code': result.smtpCode }) });
        return result;
      }, { kind: SpanKind.CLIENT });
    },
    async close() {
      untrackCircuit();
      transport.close();
    },
    get circuitState() {
      return circuit.current;
    },
  };
}
