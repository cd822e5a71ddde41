import type { Readable } from 'node:stream';
import { parse, type CsvError, type Options } from 'csv-parse';
import { Utf8Validator } from './utf8.js';

/** One CSV record: its fields and the row a spreadsheet shows it at (the header is row 1). */
export interface CsvRecord {
  readonly row: number;
  readonly fields: readonly string[];
}

/** The file cannot be read as CSV past this point (an unclosed quote, a record over the size limit). */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`The file is not valid CSV from line ${line} on: ${reason}`);
    this.name = 'CsvSyntaxError';
  }
}

export interface CsvOptions {
  /** Default `,`. */
  readonly delimiter?: string;
  /** Default 1 MiB: a record that grows beyond it (usually a quote that never closes) stops the import, in bounded memory. */
  readonly maxRecordBytes?: number;
}

/**
 * Streams the records of a CSV source with backpressure: the parser reads ahead only as far as the consumer
 * pulls. Bytes are checked to be UTF-8 on the way (InvalidEncodingError names the offset); a BOM is skipped.
 *
 * Parsing is lenient where a spreadsheet is: a stray quote inside a field is kept as a character, rows may have
 * a different number of fields than the header (the caller reports them per row), blank lines are skipped. What
 * cannot be read on from (an unclosed quote) throws CsvSyntaxError naming the line.
 */
export async function* csvRecords(source: Readable, options: CsvOptions = {}, progress?: { bytes: number }): AsyncGenerator<CsvRecord> {
  const validator = new Utf8Validator();
  // csv-parse would fail the stream on an unreadable structure and drop the records it had already parsed; with
  // skip_records_with_error it reports it instead, and the records before it are still yielded, then this throws.
  let fatal: { readonly reason: string; readonly before: number } | null = null;
  // csv-parse 5 honours on_skip, but its type declarations do not list it.
  const parserOptions: Options & { on_skip: (error: CsvError | undefined) => void } = {
    bom: true,
    delimiter: options.delimiter ?? ',',
    // Either line ending, also mixed in one file (CRLF first, so that it is never split in two).
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: options.maxRecordBytes ?? 1024 * 1024,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined) => {
      fatal ??= { reason: reasonOf(error ?? {}), before: parser.info.records };
    },
  };
  const parser = parse(parserOptions);
  source.on('error', (error) => validator.destroy(error));
  validator.on('error', (error) => parser.destroy(error));
  source.pipe(validator).pipe(parser);
  let row = 1;
  // The unreadable record starts where the last good one ended.
  const stopIfFatal = (parsed: number) => {
    if (fatal !== null && parsed >= fatal.before) throw new CsvSyntaxError(row, fatal.reason);
  };
  try {
    // Rows are counted here rather than from the parser's per-record info (which allocates an object per record):
    // a record starts on the line after the previous one ended, and a quoted field spanning lines moves the next.
    // Blank lines come through as one empty field and are skipped here, counted as lines.
    let parsed = 0;
    for await (const fields of parser as AsyncIterable<string[]>) {
      stopIfFatal(parsed++);
      const start = row;
      row += 1 + lineBreaksIn(fields);
      if (fields.length === 1 && fields[0] === '') continue;
      if (progress !== undefined) progress.bytes = validator.bytes;
      yield { row: start, fields };
    }
    stopIfFatal(parsed);
    if (progress !== undefined) progress.bytes = validator.bytes;
  } finally {
    source.unpipe(validator);
    validator.unpipe(parser);
    if (!source.destroyed) source.destroy();
    validator.destroy();
    parser.destroy();
  }
}

/** Line breaks inside quoted fields. */
function lineBreaksIn(fields: readonly string[]): number {
  let breaks = 0;
  for (const field of fields) {
    for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) breaks++;
  }
  return breaks;
}

function reasonOf(error: Partial<CsvError>): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field starting there is never closed';
    case 'CSV_MAX_RECORD_SIZE':
      return 'the record starting there is larger than the limit (usually a quote that is never closed)';
    default:
      return String(error.message);
  }
}
