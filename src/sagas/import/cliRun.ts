import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Kysely } from 'kysely';
import { parseImportMapping, type ImportMapping } from '../../domain/contacts/import/mapping.js';
import { ValidationError } from '../../domain/shared/errors.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../projections/db/schema.js';
import type { RowError } from '../../domain/contacts/import/row.js';
import { importDb, listRowErrors } from './jobs.js';
import { fileSource, runImport, type ImportProgress, type ImportSummary } from './runner.js';
import { parseCommandLine, UsageError } from '../../api/cli/usage.js';

/** Row errors printed with the summary. */
const SHOWN_ERRORS = 20;

export const USAGE = `Usage: npm run import -- <file.csv> --workspace <id> --mapping <mapping.json> [options]

Imports contacts from a UTF-8 CSV file with a header row. Every row goes through the contact commands, so each
contact keeps its history; re-importing a file changes only what differs.

Options:
  --workspace <id>      the workspace to import into (required)
  --mapping <file>      JSON column mapping (required), e.g. {"email": "E-Mail", "first_name": {"column": "Vorname"}}
  --delimiter <char>    field separator (default ,)
  --job <id>            resume or re-run this job id (uuid); rows already written are not written again
  --json                print the summary as JSON
  --help                show this help

Exit codes: 0 the import completed (row errors are listed, not fatal), 1 the job failed, 2 bad usage.`;

export interface ImportCliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Draws progress while the import runs (a cli-progress bar in cli.ts when stderr is a terminal). */
export interface ProgressView {
  start(totalBytes: number): void;
  update(progress: ImportProgress): void;
  stop(): void;
}

export interface ImportCliDeps {
  readonly store: EventStore;
  readonly db: Kysely<Database>;
  readonly out: ImportCliOutput;
  readonly actor: string;
  readonly progress?: ProgressView;
  /** Where an unexpected failure's details go (the summary names only the job). */
  readonly logger?: Logger;
  /** Does the workspace exist? */
  readonly workspaceExists: (id: string) => Promise<boolean>;
}

export interface ImportCommand {
  readonly kind: 'import';
  readonly file: string;
  readonly workspaceId: string;
  readonly mappingFile: string;
  readonly delimiter: string | undefined;
  readonly jobId: string | undefined;
  readonly json: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses the command line without touching files or the database. */
export function parseImportArgs(argv: readonly string[]): ImportCommand | { readonly kind: 'help' } {
  const parsed = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      workspace: { type: 'string' },
      mapping: { type: 'string' },
      delimiter: { type: 'string' },
      job: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the CSV file' : `one CSV file at a time, got ${positionals.length}`);
  const workspaceId = values.workspace?.trim();
  if (!workspaceId) throw new UsageError('--workspace is required');
  const mappingFile = values.mapping?.trim();
  if (!mappingFile) throw new UsageError('--mapping is required');
  if (values.delimiter !== undefined && values.delimiter.length !== 1) throw new UsageError('--delimiter must be one character');
  if (values.job !== undefined && !UUID.test(values.job)) throw new UsageError('--job must be a job id (uuid)');
  return { kind: 'import', file: positionals[0]!, workspaceId, mappingFile, delimiter: values.delimiter, jobId: values.job?.toLowerCase(), json: values.json ?? false };
}

/** The import CLI without a process: returns the exit code (0 completed, 1 failed, 2 bad usage). */
export async function runImportCli(argv: readonly string[], deps: ImportCliDeps): Promise<number> {
  const { out } = deps;
  let command: ImportCommand;
  let mapping: ImportMapping;
  let size: number;
  try {
    const parsed = parseImportArgs(argv);
    if (parsed.kind === 'help') {
      out.stdout(`${USAGE}\n`);
      return 0;
    }
    command = parsed;
    mapping = await readMapping(command.mappingFile);
    size = await fileSize(command.file);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr(`error: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (!(await deps.workspaceExists(command.workspaceId))) {
    out.stderr(`error: workspace ${command.workspaceId} not found\n`);
    return 1;
  }
  deps.progress?.start(size);
  let summary: ImportSummary;
  try {
    summary = await runImport(fileSource(command.file), {
      store: deps.store,
      db: deps.db,
      workspaceId: command.workspaceId,
      actor: deps.actor,
      fileName: basename(command.file),
      mapping,
      ...(command.jobId === undefined ? {} : { jobId: command.jobId }),
      ...(command.delimiter === undefined ? {} : { delimiter: command.delimiter }),
      ...(deps.logger === undefined ? {} : { logger: deps.logger }),
      onProgress: (p) => deps.progress?.update(p),
    });
  } finally {
    deps.progress?.stop();
  }
  const { rows: firstErrors } = await listRowErrors(importDb(deps.db), summary.jobId, { limit: SHOWN_ERRORS });
  const errors = firstErrors.map((e) => ({ row: e.row, column: e.column, reason: e.reason }));
  out.stdout(command.json ? `${JSON.stringify({ ...summary, errors }, null, 2)}\n` : summaryText(summary, errors));
  return summary.status === 'completed' ? 0 : 1;
}

async function readMapping(path: string): Promise<ImportMapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the mapping file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return parseImportMapping(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError) throw new UsageError(`the mapping file ${path} is not JSON: ${error.message}`);
    if (error instanceof ValidationError) throw new UsageError(`the mapping file ${path}: ${error.field}: ${error.message}`);
    throw error;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${path} is not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function summaryText(s: ImportSummary, errors: readonly RowError[]): string {
  const rate = s.seconds > 0 ? Math.round(s.processedRows / s.seconds).toLocaleString('en-US') : '-';
  const lines = [
    s.status === 'completed' ? 'Import completed' : 'Import FAILED',
    `  job:        ${s.jobId}`,
    `  rows:       ${s.processedRows.toLocaleString('en-US')} in ${s.seconds.toFixed(1)} s (${rate} rows/s)`,
    `  created:    ${s.created.toLocaleString('en-US')}`,
    `  updated:    ${s.updated.toLocaleString('en-US')}`,
    `  unchanged:  ${s.unchanged.toLocaleString('en-US')}`,
    `  row errors: ${s.failedRows.toLocaleString('en-US')}${s.failedRows > s.storedErrors ? ` (the first ${s.storedErrors.toLocaleString('en-US')} are stored)` : ''}`,
  ];
  if (s.error !== null) lines.push(`  error:      ${s.error}`);
  if (errors.length > 0) {
    lines.push('', `Row errors${s.failedRows > errors.length ? ` (first ${errors.length}; all stored ones: GraphQL importJob(id) { errors })` : ''}:`);
    for (const e of errors) lines.push(`  row ${e.row}${e.column === null ? '' : `, ${e.column}`}: ${e.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
