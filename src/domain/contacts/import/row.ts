import { ValidationError } from '../../shared/errors.js';
import { normalizeEmail, normalizePhone } from '../email.js';
import type { AttributeValue } from '../events.js';
import { MAX_LIST_ITEM, MAX_LIST_ITEMS, MAX_STRING_VALUE, normalizeTags, parseIsoDate, parseLabel } from '../validate.js';
import { mappedColumns, type AttributeMapping, type ImportMapping } from './mapping.js';

/**
 * One CSV row → the contact it describes, or the row's errors. Pure. Rows are numbered as a spreadsheet shows
 * them: the header is row 1, the first data row row 2 (a quoted field spanning lines counts from its first line).
 */

/** A problem with one row; `column` is the CSV column (null: the row as a whole, e.g. a wrong field count). */
export interface RowError {
  readonly row: number;
  readonly column: string | null;
  readonly reason: string;
}

/** What a row says about its contact; absent values change nothing. */
export interface ImportedContact {
  /** Normalized (the identity). */
  readonly email: string;
  readonly emailAsGiven: string;
  readonly phone: string | null;
  readonly externalId: string | null;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly tags: readonly string[];
  readonly subscriptions: readonly { readonly topic: string; readonly consentTextVersion: string }[];
}

/** The header's column positions for the mapped columns. */
export interface HeaderIndex {
  readonly fieldCount: number;
  readonly positions: ReadonlyMap<string, number>;
}

/**
 * Checks the header row against the mapping: every mapped column must be there, once. Throws ValidationError
 * naming the column (field = the column name) before any row is read.
 */
export function indexHeader(header: readonly string[] | undefined, mapping: ImportMapping): HeaderIndex {
  if (header === undefined || header.every((name) => name.trim() === '')) throw new ValidationError('the file has no header row', 'header');
  const names = header.map((name) => name.trim());
  const positions = new Map<string, number>();
  for (const { column, target } of mappedColumns(mapping)) {
    const first = names.indexOf(column);
    if (first === -1) throw new ValidationError(`column ${JSON.stringify(column)} (mapped to ${target}) is missing from the header`, column);
    if (names.indexOf(column, first + 1) !== -1) throw new ValidationError(`column ${JSON.stringify(column)} (mapped to ${target}) appears twice in the header`, column);
    positions.set(column, first);
  }
  return { fieldCount: names.length, positions };
}

const YES = new Set(['true', 'yes', 'y', '1', 'x', 'ja']);
const NO = new Set(['', 'false', 'no', 'n', '0', 'nein']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export type MappedRow = { readonly ok: true; readonly contact: ImportedContact } | { readonly ok: false; readonly errors: readonly RowError[] };

export function mapRow(fields: readonly string[], row: number, header: HeaderIndex, mapping: ImportMapping): MappedRow {
  if (fields.length !== header.fieldCount) {
    return { ok: false, errors: [{ row, column: null, reason: `expected ${header.fieldCount} fields like the header, got ${fields.length}` }] };
  }
  const r = new RowReader(fields, row, header);
  const email = r.read(mapping.email, parseEmail, null);
  const phone = mapping.phone === null ? null : r.read(mapping.phone, parsePhone, null);
  const externalId = mapping.externalId === null ? null : r.read(mapping.externalId, parseExternalId, null);
  const attributes: Record<string, AttributeValue> = {};
  for (const attribute of mapping.attributes) {
    const value = r.read(attribute.column, attributeValue, attribute);
    if (value !== undefined && value !== null) attributes[attribute.key] = value;
  }
  const tags = mapping.tags === null ? [] : r.read(mapping.tags.column, parseTags, mapping.tags.split);
  const subscriptions: { topic: string; consentTextVersion: string }[] = [];
  for (const s of mapping.subscriptions) {
    if (s.column === null || r.read(s.column, yesNo, null) === true) subscriptions.push({ topic: s.topic, consentTextVersion: s.consentTextVersion });
  }
  if (r.errors.length > 0 || email === undefined || phone === undefined || externalId === undefined || tags === undefined) return { ok: false, errors: r.errors };
  return { ok: true, contact: { email, emailAsGiven: r.cell(mapping.email), phone, externalId, attributes, tags, subscriptions } };
}

/** One row's cells; `read` parses a cell and records its ValidationError as the row's error for that column. */
class RowReader {
  readonly errors: RowError[] = [];

  constructor(
    private readonly fields: readonly string[],
    private readonly row: number,
    private readonly header: HeaderIndex,
  ) {}

  cell(column: string): string {
    return (this.fields[this.header.positions.get(column)!] ?? '').trim();
  }

  read<T, A>(column: string, parse: (value: string, arg: A) => T, arg: A): T | undefined {
    try {
      const cell = this.cell(column);
      // Valid UTF-8 and valid CSV, but no store can keep it (PostgreSQL text and jsonb refuse NUL): a row error,
      // not a failed batch.
      if (cell.includes('\u0000')) throw new ValidationError('must not contain NUL characters', column);
      return parse(cell, arg);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      this.errors.push({ row: this.row, column, reason: error.message });
      return undefined;
    }
  }
}

function parseEmail(value: string): string {
  if (value === '') throw new ValidationError('email is empty', 'email');
  return normalizeEmail(value);
}

const parsePhone = (value: string): string | null => (value === '' ? null : normalizePhone(value));
const parseExternalId = (value: string): string | null => (value === '' ? null : parseLabel(value, 'external_id'));
const parseTags = (value: string, separator: string): string[] => normalizeTags(splitList(value, separator), 'tags');

/** An empty cell sets nothing (null). */
function attributeValue(raw: string, mapping: AttributeMapping): AttributeValue | null {
  if (raw === '') return null;
  switch (mapping.type) {
    case 'string':
      if (raw.length > MAX_STRING_VALUE) throw new ValidationError(`a string is at most ${MAX_STRING_VALUE} characters`, mapping.key);
      return { type: 'string', value: raw };
    case 'number': {
      const value = Number(raw);
      if (!NUMBER.test(raw) || !Number.isFinite(value)) throw new ValidationError(`${JSON.stringify(raw)} is not a number (use . for decimals, no thousands separators)`, mapping.key);
      return { type: 'number', value };
    }
    case 'boolean': {
      const value = yesNo(raw);
      return { type: 'boolean', value };
    }
    case 'date':
      return { type: 'date', value: parseIsoDate(raw, mapping.key) };
    case 'list': {
      const value = splitList(raw, mapping.split);
      if (value.length > MAX_LIST_ITEMS || value.some((item) => item.length > MAX_LIST_ITEM)) {
        throw new ValidationError(`a list holds at most ${MAX_LIST_ITEMS} items of at most ${MAX_LIST_ITEM} characters`, mapping.key);
      }
      return { type: 'list', value };
    }
  }
}

function yesNo(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (YES.has(value)) return true;
  if (NO.has(value)) return false;
  throw new ValidationError(`${JSON.stringify(raw)} is not yes or no (true/false, yes/no, 1/0, x or empty)`, 'boolean');
}

function splitList(raw: string, separator: string): string[] {
  return raw
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
