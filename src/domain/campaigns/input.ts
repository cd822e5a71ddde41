import { ValidationError } from '../shared/errors.js';
import { inputObject, MAX_NAME, MAX_SUBJECT, nameOf, optionalText, positiveIntegerOf, uuidOf, type RawInput } from '../templates/input.js';
import type { CampaignSettings, Sender, WinnerMetric } from './events.js';
import { WINNER_METRICS } from './variants.js';

/**
 * Parsing untrusted campaign command input into typed values (shape and format only; references to segments and
 * templates are checked by the API layer, transitions and A/B invariants by the aggregate).
 */

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]+$/;
const SEGMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const TOPIC = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** A mail header value: no line breaks (header injection) and no control characters. */
const HEADER_SAFE = /^[^\p{Cc}]*$/u;

export function emailOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value.trim())) throw new ValidationError(`${field.replace(/^input\./, '')} must be an email address.`, field);
  return value.trim().toLowerCase();
}

function senderOf(value: unknown): Sender | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const sender = inputObject(value, 'input.sender');
  const name = optionalText(sender.name, 'input.sender.name', MAX_NAME) ?? null;
  if (name !== null && !HEADER_SAFE.test(name)) throw new ValidationError('sender.name must not contain line breaks or control characters.', 'input.sender.name');
  return { email: emailOf(sender.email, 'input.sender.email'), name: name === null || name.trim() === '' ? null : name.trim() };
}

function nullable<T>(value: unknown, parse: (value: unknown) => T): T | null | undefined {
  if (value === undefined) return undefined;
  return value === null ? null : parse(value);
}

function segmentIdOf(value: unknown): string {
  if (typeof value !== 'string' || !SEGMENT_ID.test(value)) throw new ValidationError('segmentId must be a segment id (1-100 letters, digits, _ . : or -).', 'input.segmentId');
  return value;
}

function topicOf(value: unknown): string {
  const topic = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (topic === undefined || !TOPIC.test(topic)) throw new ValidationError(`topic must be a topic key matching ${TOPIC.source}.`, 'input.topic');
  return topic;
}

/** Settings as given; `templateVersion` undefined: the template's current version (resolved by the API layer). */
export type SettingsInput = { -readonly [K in keyof CampaignSettings]?: CampaignSettings[K] };

/** The settings present in the input (absent: unchanged; null: cleared). `name` cannot be cleared. */
export function settingsInputOf(input: RawInput): SettingsInput {
  const settings: SettingsInput = {};
  if (input.name !== undefined) settings.name = nameOf(input.name);
  const sender = senderOf(input.sender);
  if (sender !== undefined) settings.sender = sender;
  const replyTo = nullable(input.replyTo, (v) => emailOf(v, 'input.replyTo'));
  if (replyTo !== undefined) settings.replyTo = replyTo;
  const segmentId = nullable(input.segmentId, segmentIdOf);
  if (segmentId !== undefined) settings.segmentId = segmentId;
  const templateId = nullable(input.templateId, (v) => uuidOf(v, 'input.templateId', true));
  if (templateId !== undefined) settings.templateId = templateId;
  if (input.templateVersion != null) {
    if (input.templateId === undefined || input.templateId === null) throw new ValidationError('templateVersion needs templateId.', 'input.templateVersion');
    settings.templateVersion = positiveIntegerOf(input.templateVersion, 'input.templateVersion');
  }
  const topic = nullable(input.topic, topicOf);
  if (topic !== undefined) settings.topic = topic;
  return settings;
}

export interface VariantInput {
  readonly key: string;
  readonly templateId: string;
  /** Undefined: the template's current version. */
  readonly templateVersion: number | undefined;
  readonly subject: string | null;
  readonly splitPercent: number;
}

export interface VariantsInput {
  readonly variants: readonly VariantInput[];
  readonly testSamplePercent: number;
  readonly winnerMetric: WinnerMetric;
  readonly winnerAfterHours: number | null;
}

export function variantsInputOf(input: RawInput): VariantsInput {
  if (!Array.isArray(input.variants) || input.variants.length > 10) throw new ValidationError('variants must be a list of 2 to 5 variants.', 'input.variants');
  const variants = input.variants.map((raw: unknown, index): VariantInput => {
    const field = `input.variants[${index}]`;
    const variant = inputObject(raw, field);
    if (typeof variant.key !== 'string') throw new ValidationError('A variant needs a key, e.g. A.', `${field}.key`);
    if (typeof variant.splitPercent !== 'number') throw new ValidationError('A variant needs splitPercent (1-100).', `${field}.splitPercent`);
    const subject = optionalText(variant.subject, `${field}.subject`, MAX_SUBJECT) ?? null;
    return {
      key: variant.key,
      templateId: uuidOf(variant.templateId, `${field}.templateId`, true),
      templateVersion: variant.templateVersion == null ? undefined : positiveIntegerOf(variant.templateVersion, `${field}.templateVersion`),
      subject: subject === null || subject.trim() === '' ? null : subject,
      splitPercent: variant.splitPercent,
    };
  });
  const { testSamplePercent, winnerAfterHours } = input;
  // GraphQL's enum gives OPEN_RATE, NATS clients write open_rate.
  const winnerMetric = typeof input.winnerMetric === 'string' ? input.winnerMetric.toLowerCase() : undefined;
  if (typeof testSamplePercent !== 'number') throw new ValidationError('testSamplePercent (1-100) is required.', 'input.testSamplePercent');
  if (winnerMetric === undefined || !(WINNER_METRICS as readonly string[]).includes(winnerMetric)) {
    throw new ValidationError(`winnerMetric must be one of ${WINNER_METRICS.join(', ')}.`, 'input.winnerMetric');
  }
  if (winnerAfterHours != null && typeof winnerAfterHours !== 'number') throw new ValidationError('winnerAfterHours must be a number of hours, or null.', 'input.winnerAfterHours');
  return { variants, testSamplePercent, winnerMetric: winnerMetric as WinnerMetric, winnerAfterHours: winnerAfterHours ?? null };
}

/** A free-text reason (pause, cancel): optional, one line of at most 500 characters. */
export function reasonOf(value: unknown): string | null {
  const reason = optionalText(value, 'input.reason', 500) ?? null;
  return reason === null || reason.trim() === '' ? null : reason.trim();
}
