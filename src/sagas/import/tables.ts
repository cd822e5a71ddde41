import type { ColumnType, Selectable } from 'kysely';
import type { Timestamp } from '../../projections/db/schema.js';

/**
 * Import jobs (migration 009_import_jobs). Operational state written by the import runner directly, like the
 * delivery ledger, not a projection of events: the contacts themselves are event-sourced (every row goes
 * through the contact aggregate), the job's progress and row errors are bookkeeping about one run of a file.
 */
export interface ImportTables {
  import_jobs: ImportJobsTable;
  import_row_errors: ImportRowErrorsTable;
}

export type ImportJobStatus = 'running' | 'completed' | 'failed';

export interface ImportJobsTable {
  id: string;
  workspace_id: string;
  file_name: string;
  status: ImportJobStatus;
  /** Data rows in the file; null until the whole file has been read. */
  total_rows: number | null;
  /** Data rows handled so far (created + updated + unchanged + failed_rows). */
  processed_rows: number;
  created: number;
  updated: number;
  unchanged: number;
  failed_rows: number;
  created_by: string;
  started_at: Timestamp;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Why the job failed (a missing column, invalid UTF-8 at a byte offset, the store unavailable, ...). */
  error: string | null;
}

/** The first errors of each job (capped); failed_rows stays exact beyond the cap. */
export interface ImportRowErrorsTable {
  job_id: string;
  /** Order of the error within the job. */
  seq: number;
  /** As a spreadsheet shows it: the header is row 1. */
  row: number;
  /** The CSV column; null for the row as a whole (e.g. a wrong number of fields). */
  column: string | null;
  reason: string;
}

export type ImportJobRow = Selectable<ImportJobsTable>;
export type ImportRowErrorRow = Selectable<ImportRowErrorsTable>;
