import { normalizeMessageId } from '../../sagas/delivery/identifiers.js';
import { ValidationError } from '../errors.js';
import { UNSTORABLE_TEXT_MESSAGE, unstorableTextPath } from '../storableText.js';

/**
 * Parsing of bounce and complaint webhooks into one shape. Two formats:
 *
 * Generic (documented for any provider or relay), one object or an array of them:
 *   { "messageId": "<our Message-ID>", "type": "bounce" | "complaint", "bounceType": "hard" | "soft" (bounces only),
 *     "reason": "550 5.1.1 user unknown" (optional), "at": "2025-01-31T12:00:00Z" (optional, default now) }
 *   Send `at`: a provider's retry of the same report is then recognised and recorded once.
 *
 * Amazon SES notifications (`notificationType` or `eventType` Bounce / Complaint), also inside the SNS envelope
 * (`{"Type": "Notification", "Message": "<json>"}`, which SNS posts as text/plain). Our Message-ID is
 * `mail.commonHeaders.messageId` (or the Message-ID in `mail.headers`); `mail.messageId` is SES's own id and is
 * tried last. bounceType Permanent → hard, Transient / Undetermined → soft. Other SES types are ignored.
 */

export interface BounceReport {
  readonly kind: 'bounce' | 'complaint';
  readonly bounceType: 'hard' | 'soft' | null;
  /** Candidates in order of preference, normalized (no brackets). */
  readonly messageIds: readonly string[];
  readonly reason: string | null;
  readonly at: string;
  readonly source: 'generic' | 'ses';
  readonly payload: unknown;
}

export type ParsedWebhook =
  | { readonly kind: 'reports'; readonly reports: readonly BounceReport[]; readonly ignored: number }
  | { readonly kind: 'sns_subscription'; readonly subscribeUrl: string | null };

type Raw = Record<string, unknown>;
const MAX_REPORTS = 1_000;
const MAX_REASON = 1_000;
const MESSAGE_ID = /^[^\s<>]{1,998}$/;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (field: string, message: string): never => {
  throw new ValidationError(field, `${field}: ${message}`);
};

export function parseBounceWebhook(body: unknown, now: Date): ParsedWebhook {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      invalid('body', 'must be JSON');
    }
  }
  const unstorable = unstorableTextPath(parsed, '');
  if (unstorable !== null) invalid(unstorable === '' ? 'body' : unstorable, UNSTORABLE_TEXT_MESSAGE);
  if (Array.isArray(parsed)) {
    if (parsed.length === 0 || parsed.length > MAX_REPORTS) invalid('body', `must hold 1 to ${MAX_REPORTS} reports`);
    const results = parsed.map((item, i) => parseOne(item, `[${i}].`, now));
    return { kind: 'reports', reports: results.filter((r): r is BounceReport => r !== null), ignored: results.filter((r) => r === null).length };
  }
  if (isObject(parsed) && parsed.Type === 'SubscriptionConfirmation') {
    return { kind: 'sns_subscription', subscribeUrl: typeof parsed.SubscribeURL === 'string' ? parsed.SubscribeURL : null };
  }
  if (isObject(parsed) && parsed.Type === 'Notification') {
    if (typeof parsed.Message !== 'string') invalid('Message', 'must be the SES notification as a JSON string');
    let message: unknown;
    try {
      message = JSON.parse(parsed.Message as string);
    } catch {
      invalid('Message', 'must be JSON');
    }
    const inner = unstorableTextPath(message, '');
    if (inner !== null) invalid(`Message${inner === '' ? '' : `.${inner}`}`, UNSTORABLE_TEXT_MESSAGE);
    parsed = message;
  }
  const report = parseOne(parsed, '', now);
  return { kind: 'reports', reports: report === null ? [] : [report], ignored: report === null ? 1 : 0 };
}

/** A report, or null for a notification we do not act on (SES Delivery, Send, ...). */
function parseOne(raw: unknown, path: string, now: Date): BounceReport | null {
  if (!isObject(raw)) return invalid(path === '' ? 'body' : path.slice(0, -1), 'must be an object');
  if ('notificationType' in raw || 'eventType' in raw) return parseSes(raw, path, now);
  return parseGeneric(raw, path, now);
}

function parseGeneric(raw: Raw, path: string, now: Date): BounceReport {
  const messageId = typeof raw.messageId === 'string' ? normalizeMessageId(raw.messageId) : '';
  if (!MESSAGE_ID.test(messageId)) invalid(`${path}messageId`, 'must be the Message-ID of the email');
  if (raw.type !== 'bounce' && raw.type !== 'complaint') invalid(`${path}type`, 'must be "bounce" or "complaint"');
  const kind = raw.type as 'bounce' | 'complaint';
  let bounceType: 'hard' | 'soft' | null = null;
  if (kind === 'bounce') {
    if (raw.bounceType !== 'hard' && raw.bounceType !== 'soft') invalid(`${path}bounceType`, 'must be "hard" or "soft"');
    bounceType = raw.bounceType as 'hard' | 'soft';
  } else if (raw.bounceType !== undefined && raw.bounceType !== null) invalid(`${path}bounceType`, 'is only for bounces');
  return { kind, bounceType, messageIds: [messageId], reason: reasonOf(raw.reason, `${path}reason`), at: timeOf(raw.at, `${path}at`, now), source: 'generic', payload: raw };
}

function parseSes(raw: Raw, path: string, now: Date): BounceReport | null {
  const type = raw.notificationType ?? raw.eventType;
  if (type !== 'Bounce' && type !== 'Complaint') return null;
  const mail = raw.mail;
  if (!isObject(mail)) return invalid(`${path}mail`, 'must be an object');
  if (typeof mail.messageId !== 'string' || mail.messageId.trim() === '') invalid(`${path}mail.messageId`, 'must be a string');
  const messageIds = [
    isObject(mail.commonHeaders) && typeof mail.commonHeaders.messageId === 'string' ? mail.commonHeaders.messageId : undefined,
    Array.isArray(mail.headers) ? (mail.headers as unknown[]).filter(isObject).find((h) => String(h.name).toLowerCase() === 'message-id')?.value : undefined,
    mail.messageId,
  ]
    .filter((id): id is string => typeof id === 'string')
    .map(normalizeMessageId)
    .filter((id, i, all) => MESSAGE_ID.test(id) && all.indexOf(id) === i);
  if (type === 'Bounce') {
    const bounce = raw.bounce;
    if (!isObject(bounce)) return invalid(`${path}bounce`, 'must be an object');
    if (!['Permanent', 'Transient', 'Undetermined'].includes(bounce.bounceType as string)) invalid(`${path}bounce.bounceType`, 'must be Permanent, Transient or Undetermined');
    if (bounce.bouncedRecipients !== undefined && !Array.isArray(bounce.bouncedRecipients)) invalid(`${path}bounce.bouncedRecipients`, 'must be a list');
    const first = Array.isArray(bounce.bouncedRecipients) ? (bounce.bouncedRecipients as unknown[]).find(isObject) : undefined;
    const reason = first?.diagnosticCode ?? bounce.bounceSubType ?? null;
    return {
      kind: 'bounce',
      bounceType: bounce.bounceType === 'Permanent' ? 'hard' : 'soft',
      messageIds,
      reason: reasonOf(typeof reason === 'string' ? reason : null, `${path}bounce.bouncedRecipients`),
      at: timeOf(bounce.timestamp ?? mail.timestamp, `${path}bounce.timestamp`, now),
      source: 'ses',
      payload: raw,
    };
  }
  const complaint = raw.complaint;
  if (!isObject(complaint)) return invalid(`${path}complaint`, 'must be an object');
  const feedback = complaint.complaintFeedbackType;
  return {
    kind: 'complaint',
    bounceType: null,
    messageIds,
    reason: reasonOf(typeof feedback === 'string' ? feedback : null, `${path}complaint.complaintFeedbackType`),
    at: timeOf(complaint.timestamp ?? mail.timestamp, `${path}complaint.timestamp`, now),
    source: 'ses',
    payload: raw,
  };
}

/** Free text from a provider, made safe for events and the contact's suppression detail. */
function reasonOf(raw: unknown, field: string): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') return invalid(field, 'must be a string');
  const clean = raw.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').trim().slice(0, MAX_REASON);
  return clean === '' ? null : clean;
}

function timeOf(raw: unknown, field: string, now: Date): string {
  if (raw === undefined || raw === null) return now.toISOString();
  const time = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? new Date(raw) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) invalid(field, 'must be an ISO-8601 date-time');
  return time.toISOString();
}
