import { GraphQLScalarType, valueFromASTUntyped } from 'graphql';
import { parseImportMapping } from '../../domain/contacts/import/mapping.js';
import { ValidationError as DomainValidationError } from '../../domain/shared/errors.js';
import { findJob, importDb, listJobs, listRowErrors, type JobCursor, type RowErrorCursor } from '../../sagas/import/jobs.js';
import { runImport, textSource } from '../../sagas/import/runner.js';
import type { ImportJobRow, ImportRowErrorRow } from '../../sagas/import/tables.js';
import { notFound, ValidationError } from '../errors.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';

/** A column mapping as JSON (src/domain/contacts/import/mapping.ts); checked by parseImportMapping. */
export const ImportMappingScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'ImportMapping',
  description: 'A CSV column mapping as JSON, e.g. {"email":"E-Mail","first_name":{"column":"Vorname","type":"string"},"tags":{"column":"Tags","split":";"}}.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

const typeDefs = /* GraphQL */ `
  scalar ImportMapping
  enum ImportJobStatus { RUNNING COMPLETED FAILED }

  "A problem with one row; row as a spreadsheet shows it (the header is row 1); column null: the row as a whole."
  type ImportRowError { row: Int! column: String reason: String! }
  type ImportRowErrorEdge { cursor: String! node: ImportRowError! }
  type ImportRowErrorConnection { edges: [ImportRowErrorEdge!]! pageInfo: PageInfo! }

  "One run of a CSV import. Counts are exact; the first 10,000 row errors are kept."
  type ImportJob {
    id: ID!
    fileName: String!
    status: ImportJobStatus!
    "Data rows in the file; null until it has been read to the end."
    totalRows: Int
    processedRows: Int!
    created: Int!
    updated: Int!
    unchanged: Int!
    failedRows: Int!
    createdBy: String!
    startedAt: DateTime!
    finishedAt: DateTime
    "Why the job failed (e.g. a missing column, invalid UTF-8 at a byte offset)."
    error: String
    "Row errors in file order."
    errors(first: Int = 50, after: String): ImportRowErrorConnection!
  }
  type ImportJobEdge { cursor: String! node: ImportJob! }
  type ImportJobConnection { edges: [ImportJobEdge!]! pageInfo: PageInfo! }

  extend type Query {
    importJob(id: ID!): ImportJob!
    "Newest first."
    importJobs(first: Int = 20, after: String): ImportJobConnection!
  }

  extend type Mutation {
    """
    Imports a small CSV (the request is at most 1 MiB; use npm run import for files) with the same runner as the
    CLI, and returns the finished job. delimiter: one character, default comma.
    """
    importContacts(csv: String!, mapping: ImportMapping!, fileName: String, delimiter: String): ImportJob!
  }
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function jobNode(row: ImportJobRow) {
  return {
    id: row.id,
    fileName: row.file_name,
    status: row.status.toUpperCase(),
    totalRows: row.total_rows,
    processedRows: row.processed_rows,
    created: row.created,
    updated: row.updated,
    unchanged: row.unchanged,
    failedRows: row.failed_rows,
    createdBy: row.created_by,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
  };
}

const errorNode = (e: ImportRowErrorRow) => ({ row: e.row, column: e.column, reason: e.reason });

const parseJobCursor = (v: unknown): JobCursor | undefined => {
  const { t, id } = (v ?? {}) as { t?: unknown; id?: unknown };
  return typeof t === 'string' && typeof id === 'string' && UUID.test(id) && !Number.isNaN(Date.parse(t)) ? { startedAt: new Date(t), id } : undefined;
};
const parseErrorCursor = (v: unknown): RowErrorCursor | undefined => {
  const { r, s } = (v ?? {}) as { r?: unknown; s?: unknown };
  return Number.isInteger(r) && Number.isInteger(s) ? { row: r as number, seq: s as number } : undefined;
};

async function loadJob(ctx: GraphQLContext, workspaceId: string, id: string) {
  const row = UUID.test(id) ? await findJob(importDb(ctx.deps.db), workspaceId, id.toLowerCase()) : undefined;
  if (row === undefined) throw notFound('Import job');
  return jobNode(row);
}

export const importsSlice: GraphQLSlice = {
  name: 'imports',
  typeDefs,
  resolvers: {
    ImportMapping: ImportMappingScalar,
    ImportJob: {
      errors: async (job: { id: string }, args: { first: number; after?: string | null }, ctx: GraphQLContext) => {
        const page = { limit: pageSize(args.first), after: args.after == null ? null : decodeCursor(args.after, parseErrorCursor) };
        const { rows, hasNextPage } = await listRowErrors(importDb(ctx.deps.db), job.id, page);
        return toConnection(rows, hasNextPage, (e) => encodeCursor({ r: e.row, s: e.seq }), errorNode);
      },
    },
    Query: {
      importJob: async (_: unknown, args: { id: string }, ctx: GraphQLContext) => loadJob(ctx, requirePermission(ctx, 'read').workspaceId, args.id),
      importJobs: async (_: unknown, args: { first: number; after?: string | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const page = { limit: pageSize(args.first), after: args.after == null ? null : decodeCursor(args.after, parseJobCursor) };
        const { rows, hasNextPage } = await listJobs(importDb(ctx.deps.db), principal.workspaceId, page);
        return toConnection(rows, hasNextPage, (r) => encodeCursor({ t: r.started_at.toISOString(), id: r.id }), jobNode);
      },
    },
    Mutation: {
      importContacts: async (_: unknown, args: { csv: string; mapping: unknown; fileName?: string | null; delimiter?: string | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'write');
        let mapping;
        try {
          mapping = parseImportMapping(args.mapping);
        } catch (error) {
          if (error instanceof DomainValidationError) throw new ValidationError(error.field, `${error.field}: ${error.message}.`);
          throw error;
        }
        if (args.delimiter != null && args.delimiter.length !== 1) throw new ValidationError('delimiter', 'delimiter must be one character.');
        const fileName = (args.fileName ?? 'upload.csv').trim().slice(0, 255) || 'upload.csv';
        const summary = await runImport(textSource(args.csv), {
          store: ctx.deps.eventStore,
          db: ctx.deps.db,
          workspaceId: principal.workspaceId,
          actor: principal.actor,
          fileName,
          mapping,
          correlationId: ctx.correlationId,
          logger: ctx.deps.logger,
          ...(args.delimiter == null ? {} : { delimiter: args.delimiter }),
        });
        return loadJob(ctx, principal.workspaceId, summary.jobId);
      },
    },
  },
};
