import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';

/**
 * Signed tracking tokens: `<base64url(JSON payload)>.<base64url(HMAC-SHA256)>`. Everything a tracking endpoint
 * acts on (kind, campaign, variant, contact, workspace, click target) is inside the signed payload, so a token
 * can only ever record or unsubscribe for the one recipient it was minted for, and a click only redirects to the
 * URL that was signed. The MAC covers a format label as well: a token of another (older or future) format never
 * verifies under this one.
 */

export type TrackingKind = 'o' | 'c' | 'u';

export interface TrackingPayload {
  /** o: open pixel, c: click, u: unsubscribe. */
  readonly k: TrackingKind;
  readonly c: string;
  readonly v: string;
  readonly r: string;
  readonly w: string;
  /** Click target (http/https only); present exactly when k = 'c'. */
  readonly u?: string;
}

const FORMAT = 'mkt-track-v1';
const MAC_LENGTH = 32;
const MAX_TOKEN_LENGTH = 4_096;
export const MAX_CLICK_URL_LENGTH = 2_048;
const B64URL = /^[A-Za-z0-9_-]+$/;
/** Ids end up in stream ids (`email-<c>_<r>`): the same token characters the event store accepts, no `_`. */
const ID = /^[A-Za-z0-9-]{1,100}$/;
const VARIANT = /^[A-Za-z0-9-]{1,32}$/;
const WORKSPACE = /^[A-Za-z0-9_:-]{1,100}$/;

function mac(secret: string, encodedPayload: string): Buffer {
  return createHmac('sha256', secret).update(`${FORMAT}.${encodedPayload}`).digest();
}

/** Only absolute http(s) URLs without credentials are signed: a click never redirects anywhere else. */
export function isTrackableUrl(url: string): boolean {
  if (url.length > MAX_CLICK_URL_LENGTH) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.username === '' && parsed.password === '';
  } catch {
    return false;
  }
}

export function signTrackingToken(secret: string, payload: TrackingPayload): string {
  const problem = payloadProblem(payload);
  if (problem !== null) throw new Error(`Cannot sign tracking token: ${problem}`);
  const ordered: TrackingPayload = { k: payload.k, c: payload.c, v: payload.v, r: payload.r, w: payload.w, ...(payload.u === undefined ? {} : { u: payload.u }) };
  const encoded = Buffer.from(JSON.stringify(ordered)).toString('base64url');
  return `${encoded}.${mac(secret, encoded).toString('base64url')}`;
}

/** The payload of a genuine token of `kind`, or null (forged, altered, truncated, another format or kind). */
export function verifyTrackingToken(secret: string, token: string, kind: TrackingKind): TrackingPayload | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split('.');
  if (parts.length !== 2) return null;
  const [encoded, signature] = parts as [string, string];
  if (!B64URL.test(encoded) || !B64URL.test(signature)) return null;
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== MAC_LENGTH || given.toString('base64url') !== signature) return null;
  if (!timingSafeEqual(given, mac(secret, encoded))) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (payloadProblem(payload) !== null) return null;
  const valid = payload as TrackingPayload;
  return valid.k === kind ? valid : null;
}

function payloadProblem(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'payload must be an object';
  const p = raw as Record<string, unknown>;
  const keys = Object.keys(p);
  if (keys.some((key) => !['k', 'c', 'v', 'r', 'w', 'u'].includes(key))) return 'unknown field';
  if (p.k !== 'o' && p.k !== 'c' && p.k !== 'u') return 'k must be o, c or u';
  if (typeof p.c !== 'string' || !ID.test(p.c)) return 'c must be a campaign id';
  if (typeof p.v !== 'string' || !VARIANT.test(p.v)) return 'v must be a variant key';
  if (typeof p.r !== 'string' || !ID.test(p.r)) return 'r must be a contact id';
  if (typeof p.w !== 'string' || !WORKSPACE.test(p.w)) return 'w must be a workspace id';
  if (p.k === 'c') {
    if (typeof p.u !== 'string' || !isTrackableUrl(p.u)) return 'u must be an http(s) URL';
  } else if (p.u !== undefined) return 'u is only for click tokens';
  return null;
}

/** The recipient a set of tracking links is minted for. */
export interface TrackedRecipient {
  readonly workspaceId: string;
  readonly campaignId: string;
  readonly variantKey: string;
  readonly contactId: string;
}

/** Builds the public tracking URLs of one recipient's email (used by rendering and by the sender's headers). */
export function trackingLinks(secret: string, publicBaseUrl: string, recipient: TrackedRecipient) {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const payload = { c: recipient.campaignId, v: recipient.variantKey, r: recipient.contactId, w: recipient.workspaceId };
  return {
    openPixel: `${base}/t/o/${signTrackingToken(secret, { k: 'o', ...payload })}`,
    unsubscribe: `${base}/t/u/${signTrackingToken(secret, { k: 'u', ...payload })}`,
    /** Wraps a link of the email; a non-http(s) link (mailto:, tel:) is left as it is. */
    click: (url: string): string => (isTrackableUrl(url) ? `${base}/t/c/${signTrackingToken(secret, { k: 'c', ...payload, u: url })}` : url),
  };
}

/**
 * TRACKING_SECRET, or outside production a random per-process secret (links then stop working on restart, which
 * is said once in the log). Config already refuses to start production without one.
 */
export function resolveTrackingSecret(config: Config, logger: Logger): string {
  if (config.trackingSecret !== undefined) return config.trackingSecret;
  if (config.nodeEnv === 'production') throw new Error('TRACKING_SECRET is required in production');
  logger.warn('TRACKING_SECRET is not set: tracking links are signed with a random secret and stop working on restart');
  return randomBytes(32).toString('base64url');
}
