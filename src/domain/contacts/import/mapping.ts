import { ValidationError } from '../../shared/errors.js';
import { ATTRIBUTE_TYPES, type AttributeType } from '../events.js';
import { ATTRIBUTE_KEY, normalizeTopic, parseLabel } from '../validate.js';

/**
 * How the columns of a CSV file become a contact (JSON, e.g. a `mapping.json` next to the file):
 *
 * ```json
 * {
 *   "email": "E-Mail",
 *   "phone": "Telefon",
 *   "external_id": "Kundennummer",
 *   "first_name": { "column": "Vorname", "type": "string" },
 *   "score": { "column": "Punkte", "type": "number" },
 *   "interests": { "column": "Interessen", "type": "list", "split": "|" },
 *   "tags": { "column": "Tags", "split": ";" },
 *   "subscribe": { "topic": "newsletter", "consentTextVersion": "2024-03", "column": "Newsletter" }
 * }
 * ```
 * - `email` (required), `phone` (E.164), `external_id`: a column name, or `{ "column": ... }`.
 * - `tags`: `{ "column", "split" }` (split default `;`), or a column name.
 * - `subscribe`: one or a list of `{ topic, consentTextVersion, column? }`. Without `column` every row
 *   subscribes; with it, only rows whose cell is yes (`true`, `yes`, `y`, `1`, `x`, `ja`; empty, `false`, `no`,
 *   `n`, `0`, `nein` are no).
 * - Any other key is an attribute key (`^[a-z][a-z0-9_]{0,63}$`): a column name (type string) or
 *   `{ column, type, split? }` with type string | number | boolean | date | list (`split` for lists, default `;`).
 * Column names are matched exactly after trimming. An empty cell sets nothing: an import never removes a value.
 */
export interface ImportMapping {
  readonly email: string;
  readonly phone: string | null;
  readonly externalId: string | null;
  readonly attributes: readonly AttributeMapping[];
  readonly tags: { readonly column: string; readonly split: string } | null;
  readonly subscriptions: readonly SubscriptionMapping[];
}

export interface AttributeMapping {
  readonly key: string;
  readonly column: string;
  readonly type: AttributeType;
  readonly split: string;
}

export interface SubscriptionMapping {
  readonly topic: string;
  readonly consentTextVersion: string;
  /** null: every row subscribes. */
  readonly column: string | null;
}

const RESERVED = new Set(['email', 'phone', 'external_id', 'externalId', 'tags', 'subscribe']);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Validates a mapping; throws ValidationError naming the field (`mapping.first_name.type`). */
export function parseImportMapping(raw: unknown): ImportMapping {
  if (!isRecord(raw)) throw new ValidationError('the mapping must be a JSON object', 'mapping');
  if (raw.email === undefined) throw new ValidationError('the mapping needs an "email" column', 'mapping.email');
  const externalIdKey = raw.external_id !== undefined ? 'external_id' : 'externalId';
  const attributes: AttributeMapping[] = [];
  for (const [key, spec] of Object.entries(raw)) {
    if (RESERVED.has(key)) continue;
    if (!ATTRIBUTE_KEY.test(key)) throw new ValidationError(`attribute key ${JSON.stringify(key)} must match ${ATTRIBUTE_KEY.source}`, `mapping.${key}`);
    attributes.push(attributeMapping(key, spec));
  }
  const mapping: ImportMapping = {
    email: columnOf(raw.email, 'mapping.email'),
    phone: raw.phone == null ? null : columnOf(raw.phone, 'mapping.phone'),
    externalId: raw[externalIdKey] == null ? null : columnOf(raw[externalIdKey], `mapping.${externalIdKey}`),
    attributes,
    tags: raw.tags == null ? null : { column: columnOf(raw.tags, 'mapping.tags'), split: splitOf(raw.tags, 'mapping.tags') },
    subscriptions: subscriptionsOf(raw.subscribe),
  };
  return mapping;
}

/** Every column the mapping reads, with what it is mapped to (for error messages). */
export function mappedColumns(mapping: ImportMapping): { readonly column: string; readonly target: string }[] {
  return [
    { column: mapping.email, target: 'email' },
    ...(mapping.phone === null ? [] : [{ column: mapping.phone, target: 'phone' }]),
    ...(mapping.externalId === null ? [] : [{ column: mapping.externalId, target: 'external_id' }]),
    ...mapping.attributes.map((a) => ({ column: a.column, target: a.key })),
    ...(mapping.tags === null ? [] : [{ column: mapping.tags.column, target: 'tags' }]),
    ...mapping.subscriptions.flatMap((s) => (s.column === null ? [] : [{ column: s.column, target: `subscribe ${s.topic}` }])),
  ];
}

function columnOf(spec: unknown, field: string): string {
  const column = isRecord(spec) ? spec.column : spec;
  if (typeof column !== 'string' || column.trim() === '') throw new ValidationError('must be a column name (or { "column": ... })', isRecord(spec) ? `${field}.column` : field);
  return column.trim();
}

function splitOf(spec: unknown, field: string): string {
  const split = isRecord(spec) && spec.split !== undefined ? spec.split : ';';
  if (typeof split !== 'string' || split.length === 0 || split.length > 8) throw new ValidationError('split must be a separator of 1 to 8 characters', `${field}.split`);
  return split;
}

function attributeMapping(key: string, spec: unknown): AttributeMapping {
  const field = `mapping.${key}`;
  const type = isRecord(spec) && spec.type !== undefined ? spec.type : 'string';
  if (typeof type !== 'string' || !(ATTRIBUTE_TYPES as readonly string[]).includes(type)) {
    throw new ValidationError(`type must be one of ${ATTRIBUTE_TYPES.join(', ')}`, `${field}.type`);
  }
  return { key, column: columnOf(spec, field), type: type as AttributeType, split: splitOf(spec, field) };
}

function subscriptionsOf(raw: unknown): SubscriptionMapping[] {
  if (raw == null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const topics = new Set<string>();
  return list.map((spec: unknown, i) => {
    const field = Array.isArray(raw) ? `mapping.subscribe.${i}` : 'mapping.subscribe';
    if (!isRecord(spec)) throw new ValidationError('must be { "topic", "consentTextVersion", "column"? }', field);
    const topic = normalizeTopic(spec.topic, `${field}.topic`);
    if (topics.has(topic)) throw new ValidationError(`topic ${topic} is mapped twice`, `${field}.topic`);
    topics.add(topic);
    return {
      topic,
      consentTextVersion: parseLabel(spec.consentTextVersion, `${field}.consentTextVersion`),
      column: spec.column == null ? null : columnOf(spec.column, `${field}.column`),
    };
  });
}
