import { sql, type Kysely, type SqlBool } from 'kysely';
import type { RowError } from '../../domain/contacts/import/row.js';
import type { Database } from '../../projections/db/schema.js';
import type { ImportJobRow, ImportRowErrorRow, ImportTables } from './tables.js';

/**
 * The import_jobs / import_row_errors tables: written by the runner as it goes (operational state, see
 * tables.ts), read by the CLI and GraphQL. Until src/projections/db/schema.ts lists ImportTables, the queries
 * widen the one Database interface with `withTables`.
 */
export type ImportDb = Kysely<Database & ImportTables>;

// withTables wants a plain object type: the mapped type turns the interface into one.
export const importDb = (db: Kysely<Database>): ImportDb => db.withTables<{ [T in keyof ImportTables]: ImportTables[T] }>();

/** Row errors kept per job; beyond it only the count (failed_rows) grows. */
export const MAX_STORED_ROW_ERRORS = 10_000;

export interface JobCounts {
  readonly processedRows: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly failedRows: number;
}

export const ZERO_COUNTS: JobCounts = { processedRows: 0, created: 0, updated: 0, unchanged: 0, failedRows: 0 };

/**
 * Starts a job, or restarts one with the same id (a resumed import: its counters and errors start over, the
 * deterministic command ids make the rows already written count again without being written twice).
 */
export async function startJob(
  db: ImportDb,
  job: { readonly id: string; readonly workspaceId: string; readonly fileName: string; readonly createdBy: string; readonly startedAt: Date },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('import_jobs').select('workspace_id').where('id', '=', job.id).forUpdate().executeTakeFirst();
    if (existing !== undefined && existing.workspace_id !== job.workspaceId) throw new Error(`Import job ${job.id} belongs to another workspace`);
    await trx.deleteFrom('import_row_errors').where('job_id', '=', job.id).execute();
    const values = {
      workspace_id: job.workspaceId,
      file_name: job.fileName,
      status: 'running' as const,
      total_rows: null,
      processed_rows: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      failed_rows: 0,
      created_by: job.createdBy,
      started_at: job.startedAt,
      finished_at: null,
      error: null,
    };
    if (existing === undefined) await trx.insertInto('import_jobs').values({ id: job.id, ...values }).execute();
    else await trx.updateTable('import_jobs').set(values).where('id', '=', job.id).execute();
  });
}

const countColumns = (c: JobCounts) => ({
  processed_rows: c.processedRows,
  created: c.created,
  updated: c.updated,
  unchanged: c.unchanged,
  failed_rows: c.failedRows,
});

/** Progress after a batch, with the batch's row errors (the first MAX_STORED_ROW_ERRORS of the job are kept). */
export async function recordProgress(db: ImportDb, jobId: string, counts: JobCounts, errors: readonly RowError[], storedSoFar: number): Promise<number> {
  const room = Math.max(0, MAX_STORED_ROW_ERRORS - storedSoFar);
  const kept = errors.slice(0, room);
  await db.transaction().execute(async (trx) => {
    if (kept.length > 0) {
      await trx
        .insertInto('import_row_errors')
        .values(kept.map((e, i) => ({ job_id: jobId, seq: storedSoFar + i + 1, row: e.row, column: e.column, reason: e.reason.slice(0, 1_000) })))
        .execute();
    }
    await trx.updateTable('import_jobs').set(countColumns(counts)).where('id', '=', jobId).execute();
  });
  return storedSoFar + kept.length;
}

export async function finishJob(
  db: ImportDb,
  jobId: string,
  outcome: { readonly status: 'completed' | 'failed'; readonly counts: JobCounts; readonly totalRows: number | null; readonly error: string | null; readonly finishedAt: Date },
): Promise<void> {
  await db
    .updateTable('import_jobs')
    .set({ ...countColumns(outcome.counts), status: outcome.status, total_rows: outcome.totalRows, error: outcome.error, finished_at: outcome.finishedAt })
    .where('id', '=', jobId)
    .execute();
}

export async function findJob(db: ImportDb, workspaceId: string, id: string): Promise<ImportJobRow | undefined> {
  return db.selectFrom('import_jobs').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

export interface JobCursor {
  readonly startedAt: Date;
  readonly id: string;
}

/** Newest first. */
export async function listJobs(db: ImportDb, workspaceId: string, page: { readonly after?: JobCursor | null; readonly limit: number }): Promise<{ rows: ImportJobRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('import_jobs').selectAll().where('workspace_id', '=', workspaceId);
  if (page.after != null) query = query.where(sql<SqlBool>`(started_at, id) < (${page.after.startedAt}, ${page.after.id}::uuid)`);
  const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  return { rows: rows.slice(0, page.limit), hasNextPage: rows.length > page.limit };
}

export interface RowErrorCursor {
  readonly row: number;
  readonly seq: number;
}

/** A job's stored row errors in file order. */
export async function listRowErrors(db: ImportDb, jobId: string, page: { readonly after?: RowErrorCursor | null; readonly limit: number }): Promise<{ rows: ImportRowErrorRow[]; hasNextPage: boolean }> {
  let query = db.selectFrom('import_row_errors').selectAll().where('job_id', '=', jobId);
  if (page.after != null) query = query.where(sql<SqlBool>`(row, seq) > (${page.after.row}, ${page.after.seq})`);
  const rows = await query.orderBy('row').orderBy('seq').limit(page.limit + 1).execute();
  return { rows: rows.slice(0, page.limit), hasNextPage: rows.length > page.limit };
}

export async function countRowErrors(db: ImportDb, jobId: string): Promise<number> {
  const row = await db.selectFrom('import_row_errors').select((eb) => eb.fn.countAll<string>().as('n')).where('job_id', '=', jobId).executeTakeFirstOrThrow();
  return Number(row.n);
}
