/** Import jobs over GraphQL: importContacts (the same runner as the CLI), importJob(s) with row errors. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importsSlice } from '../../../src/api/graphql/imports.js';
import { buildServer } from '../../../src/api/server.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';
import { ensureSlices } from './slices.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let acme: SeededWorkspace;
let other: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('importsgql');
  ensureSlices(importsSlice);
  app = await buildServer(env.deps);
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
});
afterAll(() => app.close());

const IMPORT = /* GraphQL */ `
  mutation ($csv: String!, $mapping: ImportMapping!, $delimiter: String) {
    importContacts(csv: $csv, mapping: $mapping, fileName: "kunden.csv", delimiter: $delimiter) {
      id fileName status totalRows processedRows created updated unchanged failedRows createdBy error
      errors(first: 2) { edges { node { row column reason } } pageInfo { hasNextPage endCursor } }
    }
  }`;
const MAPPING = { email: 'E-Mail', first_name: { column: 'Vorname' }, tags: { column: 'Tags', split: '|' }, subscribe: { topic: 'newsletter', consentTextVersion: 'v1' } };
const CSV = ['E-Mail;Vorname;Tags', 'ada@example.com;Ada;vip|beta', 'kaputt;Bob;', 'grace@example.com;Grace', 'grace@example.com;Grace;navy', 'x@;;'].join('\n');

describe('importContacts', () => {
  it('imports a small CSV and returns the job with its first row errors', async () => {
    const { body } = await gql(app, acme.keys.marketer.key, IMPORT, { csv: CSV, mapping: MAPPING, delimiter: ';' });
    expect(body.errors).toBeUndefined();
    const job = body.data!.importContacts;
    expect(job).toMatchObject({ fileName: 'kunden.csv', status: 'COMPLETED', totalRows: 5, processedRows: 5, created: 2, updated: 0, failedRows: 3, error: null });
    expect(job.createdBy).toBe(`apikey:${acme.keys.marketer.id}`);
    expect(job.errors.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { row: 3, column: 'E-Mail', reason: 'email must contain exactly one @' },
      { row: 4, column: null, reason: 'expected 3 fields like the header, got 2' },
    ]);
    expect(job.errors.pageInfo.hasNextPage).toBe(true);

    const next = await gql(app, acme.keys.auditor.key, `query ($id: ID!, $after: String) { importJob(id: $id) { errors(first: 5, after: $after) { edges { node { row column } } pageInfo { hasNextPage } } } }`, {
      id: job.id,
      after: job.errors.pageInfo.endCursor,
    });
    expect(next.body.data!.importJob.errors).toEqual({ edges: [{ node: { row: 6, column: 'E-Mail' } }], pageInfo: { hasNextPage: false } });
  });

  it('lists jobs newest first and hides other workspaces', async () => {
    const second = await gql(app, acme.keys.admin.key, IMPORT, { csv: 'E-Mail,Vorname,Tags\nalan@example.com,Alan,\n', mapping: MAPPING });
    expect(second.body.data!.importContacts.status).toBe('COMPLETED');
    const list = await gql(app, acme.keys.auditor.key, `{ importJobs(first: 1) { edges { node { id processedRows } } pageInfo { hasNextPage endCursor } } }`);
    expect(list.body.data!.importJobs.edges[0].node).toEqual({ id: second.body.data!.importContacts.id, processedRows: 1 });
    expect(list.body.data!.importJobs.pageInfo.hasNextPage).toBe(true);
    const rest = await gql(app, acme.keys.auditor.key, `query ($after: String) { importJobs(first: 5, after: $after) { edges { node { fileName } } pageInfo { hasNextPage } } }`, {
      after: list.body.data!.importJobs.pageInfo.endCursor,
    });
    expect(rest.body.data!.importJobs).toEqual({ edges: [{ node: { fileName: 'kunden.csv' } }], pageInfo: { hasNextPage: false } });

    const foreign = await gql(app, other.keys.admin.key, `query ($id: ID!) { importJob(id: $id) { id } }`, { id: second.body.data!.importContacts.id });
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gql(app, other.keys.admin.key, `{ importJobs { edges { node { id } } } }`)).body.data!.importJobs.edges).toEqual([]);
  });

  it('reports a failed job (missing column) and refuses bad mappings and readers', async () => {
    const failed = await gql(app, acme.keys.marketer.key, IMPORT, { csv: 'Email,Vorname\nada@example.com,Ada\n', mapping: MAPPING });
    expect(failed.body.data!.importContacts).toMatchObject({ status: 'FAILED', processedRows: 0, error: 'column "E-Mail" (mapped to email) is missing from the header' });

    const bad = await gql(app, acme.keys.marketer.key, IMPORT, { csv: 'a\n', mapping: { email: 'E-Mail', Age: 'Alter' } });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'mapping.Age' });
    const auditor = await gql(app, acme.keys.auditor.key, IMPORT, { csv: CSV, mapping: MAPPING });
    expect(auditor.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
