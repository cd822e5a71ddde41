import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { contactStreamId } from '../../domain/contacts/events.js';
import { contactIdFor } from '../../domain/contacts/identity.js';
import { importRowDecider, type ImportContactRow } from '../../domain/contacts/import/decide.js';
import type { ImportMapping } from '../../domain/contacts/import/mapping.js';
import { indexHeader, mapRow, type HeaderIndex, type RowError } from '../../domain/contacts/import/row.js';
import { DomainError, ValidationError } from '../../domain/shared/errors.js';
import { handleCommandBatch, type BatchItem } from '../../eventstore/batchCommandHandler.js';
import { EventStoreError } from '../../eventstore/errors.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Logger } from '../../infra/logger.js';
import { attributeKeyTypes } from '../../projections/contacts/queries.js';
import type { Database } from '../../projections/db/schema.js';
import { csvRecords, CsvSyntaxError } from './csvRecords.js';
import { finishJob, importDb, recordProgress, startJob, ZERO_COUNTS, type ImportDb, type JobCounts } from './jobs.js';
import { checkUtf8File, InvalidEncodingError } from './utf8.js';

/**
 * The import runner: a CSV file → contact commands, in constant memory.
 *
 * The file is streamed (csvRecords); rows are mapped and validated (src/domain/contacts/import/row.ts) and go in
 * batches of `batchSize` through handleCommandBatch — one readStreams and one appendMany per batch — as one
 * ImportContactRow command per row (src/domain/contacts/import/decide.ts: the aggregate's own commands). Up to
 * `concurrency` batches are in flight, so parsing and deciding overlap the database's work; a batch that touches a
 * contact still in flight waits for it, so a later row of the file is always applied after an earlier one.
 *
 * Idempotent: a row's command id is `import:<jobId>:<row>`, so resuming a job (same id) re-counts the rows
 * already written without writing them again, and a new job over the same file decides nothing for contacts
 * that already say what the file says (no events, counted as unchanged).
 *
 * Job failures (recorded on the job, nothing thrown): invalid UTF-8 (checked before anything is written when
 * the source can be read twice), a missing header or mapped column, a mapped type that contradicts the
 * workspace's contact schema (all three before any write), an unreadable CSV structure (an unclosed quote), or
 * the store failing. Row problems are per-row errors and the import goes on.
 */

export interface ImportOptions {
  readonly store: EventStore;
  readonly db: Kysely<Database>;
  readonly workspaceId: string;
  /** Recorded as the events' actor and the job's created_by. */
  readonly actor: string;
  readonly fileName: string;
  readonly mapping: ImportMapping;
  /** Resume (or re-run) this job; default a new id. */
  readonly jobId?: string;
  readonly correlationId?: string;
  readonly delimiter?: string;
  readonly batchSize?: number;
  readonly concurrency?: number;
  readonly now?: () => Date;
  readonly logger?: Logger;
  /** After every batch: counts so far and bytes of the file read. */
  readonly onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress extends JobCounts {
  readonly bytes: number;
}

export interface ImportSummary extends JobCounts {
  readonly jobId: string;
  readonly status: 'completed' | 'failed';
  readonly totalRows: number | null;
  readonly error: string | null;
  readonly storedErrors: number;
  readonly seconds: number;
}

/** Where the bytes come from; `check` (optional) reads them once beforehand to validate the encoding. */
export interface ImportSource {
  open(): Readable;
  check?(): Promise<void>;
}

export const fileSource = (path: string): ImportSource => ({ open: () => createReadStream(path), check: () => checkUtf8File(path) });
export const textSource = (csv: string): ImportSource => ({ open: () => Readable.from([Buffer.from(csv, 'utf8')]) });

/** Rows per handleCommandBatch (one readStreams + one appendMany); 1,000 measured best on a 2-core machine. */
export const DEFAULT_BATCH_SIZE = 1_000;
/** Batches in flight: parsing and deciding the next batch overlaps the database writing the previous one. */
export const DEFAULT_CONCURRENCY = 2;
/** A batch is cut earlier when its rows could decide more events (the store takes 10,000 per appendMany). */
const MAX_BATCH_EVENTS = 5_000;

export async function runImport(source: ImportSource, options: ImportOptions): Promise<ImportSummary> {
  const now = options.now ?? (() => new Date());
  const jobId = options.jobId ?? randomUUID();
  const startedAt = now();
  const db = importDb(options.db);
  await startJob(db, { id: jobId, workspaceId: options.workspaceId, fileName: options.fileName, createdBy: options.actor, startedAt });
  const run = new ImportRun(source, options, db, jobId, startedAt.toISOString());
  let status: 'completed' | 'failed' = 'completed';
  let error: string | null = null;
  try {
    await run.execute();
  } catch (failure) {
    status = 'failed';
    error = describeFailure(failure);
    if (!isExpectedFailure(failure)) options.logger?.error({ err: failure, jobId }, 'import failed');
    await run.writeProgress().catch(() => undefined); // the row errors found before the failure
  }
  const finishedAt = now();
  await finishJob(db, jobId, { status, counts: run.counts, totalRows: status === 'completed' ? run.counts.processedRows : null, error, finishedAt });
  const summary = { jobId, status, ...run.counts, totalRows: status === 'completed' ? run.counts.processedRows : null, error, storedErrors: run.storedErrors };
  return { ...summary, seconds: (finishedAt.getTime() - startedAt.getTime()) / 1_000 };
}

interface RowItem extends BatchItem<ImportContactRow> {
  readonly row: number;
}

interface InFlight {
  readonly streams: ReadonlySet<string>;
  readonly done: Promise<BatchResult>;
}

interface BatchResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly errors: readonly RowError[];
}

class ImportRun {
  counts: JobCounts = ZERO_COUNTS;
  storedErrors = 0;
  private readonly progress = { bytes: 0 };
  private pendingErrors: RowError[] = [];
  private readonly inFlight: InFlight[] = [];
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(
    private readonly source: ImportSource,
    private readonly options: ImportOptions,
    private readonly db: ImportDb,
    private readonly jobId: string,
    private readonly at: string,
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  async execute(): Promise<void> {
    await this.source.check?.();
    await this.checkSchemaTypes();
    const { mapping } = this.options;
    let header: HeaderIndex | undefined;
    let batch: RowItem[] = [];
    let batchEvents = 0;
    const batchFailures: unknown[] = [];
    try {
      for await (const record of csvRecords(this.source.open(), { delimiter: this.options.delimiter }, this.progress)) {
        if (header === undefined) {
          header = indexHeader(record.fields, mapping);
          continue;
        }
        const mapped = mapRow(record.fields, record.row, header, mapping);
        if (!mapped.ok) {
          this.pendingErrors.push(...mapped.errors);
          this.add({ failedRows: 1 });
          continue;
        }
        batch.push(this.item(record.row, mapped.contact));
        // At most one event per attribute change, tag and topic: keeps a batch's appendMany under the store's limit.
        batchEvents += 1 + mapped.contact.tags.length + mapped.contact.subscriptions.length;
        if (batch.length >= this.batchSize || batchEvents >= MAX_BATCH_EVENTS) {
          await this.dispatch(batch);
          batch = [];
          batchEvents = 0;
        }
      }
      if (header === undefined) indexHeader(undefined, mapping);
      if (batch.length > 0) await this.dispatch(batch);
    } catch (error) {
      // The file cannot be read on from here: the rows before this point are still imported, so that the job's
      // counts say exactly how far it got (and a resumed job continues from there).
      if ((error instanceof CsvSyntaxError || error instanceof InvalidEncodingError) && batch.length > 0) await this.dispatch(batch);
      throw error;
    } finally {
      // Settle what is in flight, also after a failure, so the job's counts match what was written.
      while (this.inFlight.length > 0) await this.settleOldest().catch((error: unknown) => void batchFailures.push(error));
    }
    // A batch that failed at the end fails the job (it used to be swallowed here: the job "completed" without its rows).
    if (batchFailures.length > 0) throw batchFailures[0];
    await this.writeProgress();
  }

  private item(row: number, contact: ImportContactRow['data']['contact']): RowItem {
    const { workspaceId, actor } = this.options;
    const contactId = contactIdFor(workspaceId, contact.email);
    return {
      row,
      streamId: contactStreamId(contactId),
      command: { type: 'ImportContactRow', data: { contactId, contact, source: `import:${this.jobId}`, at: this.at } },
      context: { commandId: `import:${this.jobId}:${row}`, correlationId: this.options.correlationId ?? this.jobId, causationId: null, actor, workspaceId },
    };
  }

  /** Starts a batch once there is room and no batch in flight touches the same contacts. */
  private async dispatch(batch: readonly RowItem[]): Promise<void> {
    const streams = new Set(batch.map((item) => item.streamId));
    const overlaps = () => this.inFlight.some((f) => batch.some((item) => f.streams.has(item.streamId)));
    while (this.inFlight.length >= this.concurrency || (this.inFlight.length > 0 && overlaps())) await this.settleOldest();
    const done = this.process(batch);
    done.catch(() => undefined); // observed when settled; this only keeps it from counting as unhandled meanwhile
    this.inFlight.push({ streams, done });
  }

  private async process(batch: readonly RowItem[]): Promise<BatchResult> {
    const outcomes = await handleCommandBatch(this.options.store, importRowDecider, batch);
    let created = 0;
    let updated = 0;
    let unchanged = 0;
    const errors: RowError[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) {
        const { events } = outcome.result;
        if (events.length === 0) unchanged++;
        else if (events[0]!.type === 'ContactCreated') created++;
        else updated++;
      } else if (outcome.error instanceof DomainError) {
        const field = outcome.error instanceof ValidationError ? outcome.error.field : '';
        errors.push({ row: batch[i]!.row, column: columnOf(field, this.options.mapping), reason: outcome.error.message });
      } else {
        throw outcome.error;
      }
    });
    return { created, updated, unchanged, errors };
  }

  private async settleOldest(): Promise<void> {
    const result = await this.inFlight.shift()!.done;
    this.pendingErrors.push(...result.errors);
    this.add({ created: result.created, updated: result.updated, unchanged: result.unchanged, failedRows: result.errors.length });
    await this.writeProgress();
  }

  private add(delta: Partial<Omit<JobCounts, 'processedRows'>>): void {
    const c = this.counts;
    const created = c.created + (delta.created ?? 0);
    const updated = c.updated + (delta.updated ?? 0);
    const unchanged = c.unchanged + (delta.unchanged ?? 0);
    const failedRows = c.failedRows + (delta.failedRows ?? 0);
    this.counts = { created, updated, unchanged, failedRows, processedRows: created + updated + unchanged + failedRows };
  }

  async writeProgress(): Promise<void> {
    const errors = this.pendingErrors;
    this.pendingErrors = [];
    this.storedErrors = await recordProgress(this.db, this.jobId, this.counts, errors, this.storedErrors);
    this.options.onProgress?.({ ...this.counts, bytes: this.progress.bytes });
  }

  /** A mapped type must agree with the workspace's contact schema (a key keeps the type of its first use). */
  private async checkSchemaTypes(): Promise<void> {
    const { attributes } = this.options.mapping;
    const known = await attributeKeyTypes(this.options.db, this.options.workspaceId, attributes.map((a) => a.key));
    for (const a of attributes) {
      const type = known.get(a.key);
      if (type !== undefined && type !== a.type) {
        throw new ValidationError(`column ${JSON.stringify(a.column)} is mapped as ${a.type}, but ${a.key} is a ${type} in this workspace's contact schema`, a.column);
      }
    }
  }
}

/** The CSV column a domain error's field refers to (null: the row as a whole). */
function columnOf(field: string, mapping: ImportMapping): string | null {
  const [head, key] = field.split('.');
  if (head === 'email') return mapping.email;
  if (head === 'phone') return mapping.phone;
  if (head === 'externalId') return mapping.externalId;
  if (head === 'tags') return mapping.tags?.column ?? null;
  if (head === 'attributes' || head === 'changes') return mapping.attributes.find((a) => a.key === key)?.column ?? null;
  return null;
}

function isExpectedFailure(error: unknown): boolean {
  return error instanceof InvalidEncodingError || error instanceof CsvSyntaxError || error instanceof ValidationError;
}

/** The job's error for people: the cause for expected failures; no internals (they go to the log with the job id). */
function describeFailure(error: unknown): string {
  if (isExpectedFailure(error) || error instanceof DomainError) return (error as Error).message;
  if (error instanceof EventStoreError && error.code === 'EVENT_STORE_UNAVAILABLE') return 'The event store became unavailable; resume the import with the same job id.';
  return 'The import stopped after an internal error (logged with the job id); resume it with the same job id.';
}
