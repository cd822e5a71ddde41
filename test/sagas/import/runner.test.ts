/** The import runner against the PostgreSQL event store: rows → contact commands → events, job bookkeeping. */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { contactStreamId, type ContactEvent } from '../../../src/domain/contacts/events.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { parseImportMapping } from '../../../src/domain/contacts/import/mapping.js';
import { findJob, listRowErrors } from '../../../src/sagas/import/jobs.js';
import { fileSource, runImport, textSource, type ImportOptions } from '../../../src/sagas/import/runner.js';
import { HEADER, MAPPING, useImportTestEnv, type ImportTestEnv } from './support.js';

let env: ImportTestEnv;
beforeAll(async () => {
  env = await useImportTestEnv('importrunner');
});

const options = (workspaceId: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
  store: env.store,
  db: env.db,
  workspaceId,
  actor: 'test',
  fileName: 'contacts.csv',
  mapping: MAPPING,
  now: () => new Date('2024-05-01T10:00:00Z'),
  batchSize: 3,
  ...extra,
});

const streamOf = async (workspaceId: string, email: string): Promise<ContactEvent[]> => {
  const read = await env.store.readStream(contactStreamId(contactIdFor(workspaceId, email)));
  return read.status === 'found' ? read.events.map((e) => ({ type: e.type, data: e.data }) as ContactEvent) : [];
};

const FILE = [
  HEADER,
  'ada@example.com,+49 151 1111111,Ada,36,1815-12-10,vip;beta,yes',
  'not-an-email,,Bob,40,,,no',
  'alan@example.com,,Alan',
  'grace@example.com,,Grace,85,,,',
  'tim@example.com,,Tim,forty-one,,,',
  '',
  'GRACE@example.com,,,,1906-12-09,navy,1',
  '"edsger@example.com",,"Dijkstra, Edsger",72,1930-05-11,,',
  'ada@example.com,,,,,newsletter-fan,',
].join('\r\n');

describe('runImport', () => {
  it('imports good rows, reports bad ones per row and folds duplicates of the file into one contact', async () => {
    const ws = `ws-${randomUUID()}`;
    const summary = await runImport(fileSource(await env.file(FILE)), options(ws));
    expect(summary).toMatchObject({ status: 'completed', totalRows: 8, processedRows: 8, created: 3, updated: 2, unchanged: 0, failedRows: 3, error: null, storedErrors: 3 });

    const { rows: errors } = await listRowErrors(env.jobs, summary.jobId, { limit: 10 });
    expect(errors.map((e) => [e.row, e.column, e.reason])).toEqual([
      [3, 'E-Mail', 'email must contain exactly one @'],
      [4, null, 'expected 7 fields like the header, got 3'],
      [6, 'Alter', '"forty-one" is not a number (use . for decimals, no thousands separators)'],
    ]);

    expect((await streamOf(ws, 'ada@example.com')).map((e) => e.type)).toEqual(['ContactCreated', 'ContactSubscribed', 'ContactTagged']);
    // Row 5 created grace, row 8 (same email, other case) only added what it says on top.
    const grace = await streamOf(ws, 'grace@example.com');
    expect(grace.map((e) => e.type)).toEqual(['ContactCreated', 'ContactAttributesChanged', 'ContactTagged', 'ContactSubscribed']);
    expect(grace[0]!.data).toMatchObject({ emailAsGiven: 'grace@example.com', tags: [], source: `import:${summary.jobId}`, attributes: { first_name: { type: 'string', value: 'Grace' }, age: { type: 'number', value: 85 } } });
    expect(grace[1]!.data).toMatchObject({ changes: { birthday: { type: 'date', value: '1906-12-09' } } });
    const edsger = await streamOf(ws, 'edsger@example.com');
    expect(edsger[0]!.data).toMatchObject({ attributes: { first_name: { type: 'string', value: 'Dijkstra, Edsger' }, age: { type: 'number', value: 72 } } });

    const job = await findJob(env.jobs, ws, summary.jobId);
    expect(job).toMatchObject({ status: 'completed', file_name: 'contacts.csv', total_rows: 8, processed_rows: 8, created: 3, updated: 2, failed_rows: 3, created_by: 'test' });
    expect(job!.finished_at).toBeInstanceOf(Date);
  });

  it('creates nothing new and appends nothing when the same file is imported again', async () => {
    const ws = `ws-${randomUUID()}`;
    const path = await env.file(FILE);
    await runImport(fileSource(path), options(ws));
    const before = await env.eventCount();
    const again = await runImport(fileSource(path), options(ws, { batchSize: 500 }));
    expect(again).toMatchObject({ status: 'completed', created: 0, updated: 0, unchanged: 5, failedRows: 3 });
    expect(await env.eventCount()).toBe(before);
  });

  it('resumes a job by its id without writing a row twice', async () => {
    const ws = `ws-${randomUUID()}`;
    const jobId = randomUUID();
    const lines = [HEADER, ...Array.from({ length: 10 }, (_, i) => `p${i}@example.com,,P${i},${i},,,yes`)];
    // The first run "crashes" after 4 rows (only they are in the file it saw).
    await runImport(textSource(lines.slice(0, 5).join('\n')), options(ws, { jobId }));
    const before = await env.eventCount();
    const resumed = await runImport(textSource(lines.join('\n')), options(ws, { jobId, now: () => new Date('2024-05-02T10:00:00Z') }));
    expect(resumed).toMatchObject({ jobId, status: 'completed', created: 10, processedRows: 10 });
    expect(await env.eventCount()).toBe(before + 6 * 2);
    expect((await streamOf(ws, 'p0@example.com')).length).toBe(2);
  });

  it('fails the job before writing anything when a mapped column is missing, naming it', async () => {
    const ws = `ws-${randomUUID()}`;
    const before = await env.eventCount();
    const summary = await runImport(textSource('E-Mail,Telefon,Alter,Geburtstag,Tags,Newsletter\nada@example.com,,1,,,\n'), options(ws));
    expect(summary).toMatchObject({ status: 'failed', processedRows: 0, totalRows: null });
    expect(summary.error).toBe('column "Vorname" (mapped to first_name) is missing from the header');
    expect(await env.eventCount()).toBe(before);
    expect(await findJob(env.jobs, ws, summary.jobId)).toMatchObject({ status: 'failed', error: summary.error });
    expect(await runImport(textSource(''), options(ws))).toMatchObject({ status: 'failed', error: 'the file has no header row' });
  });

  it('fails with the byte offset and line of invalid UTF-8, before writing anything', async () => {
    const ws = `ws-${randomUUID()}`;
    const before = await env.eventCount();
    const latin1 = Buffer.concat([Buffer.from(`${HEADER}\nada@example.com,,Ada,1,,,\n`), Buffer.from('m\xfcller@example.com,,J\xfcrgen,2,,,\n', 'latin1')]);
    const offset = latin1.indexOf(0xfc);
    const summary = await runImport(fileSource(await env.file(latin1)), options(ws));
    expect(summary.status).toBe('failed');
    expect(summary.error).toBe(`The file is not valid UTF-8: invalid byte sequence at byte offset ${offset} (line 3). Save it as UTF-8 and import again.`);
    expect(await env.eventCount()).toBe(before);
  });

  it('stops at a quote that never closes, naming the line', async () => {
    const ws = `ws-${randomUUID()}`;
    const summary = await runImport(textSource(`${HEADER}\nada@example.com,,Ada,1,,,\n"bob@example.com,,Bob,2,,,\n`), options(ws));
    expect(summary).toMatchObject({ status: 'failed', created: 1 });
    expect(summary.error).toBe('The file is not valid CSV from line 3 on: a quoted field starting there is never closed');
  });

  it('refuses a mapped type that contradicts the workspace schema, and rows of merged contacts', async () => {
    const ws = `ws-${randomUUID()}`;
    await env.db.insertInto('contact_attribute_keys').values({ workspace_id: ws, key: 'age', type: 'string', first_seen_at: new Date() }).execute();
    const refused = await runImport(textSource(`${HEADER}\nada@example.com,,Ada,1,,,\n`), options(ws));
    expect(refused.error).toBe('column "Alter" is mapped as number, but age is a string in this workspace\'s contact schema');

    const simple = parseImportMapping({ email: 'email', subscribe: { topic: 'newsletter', consentTextVersion: 'v1' } });
    await runImport(textSource('email\nada@example.com\n'), options(ws, { mapping: simple }));
    const merged = { type: 'ContactMerged', data: { survivorId: 'f0000000-0000-5000-8000-000000000000', rule: 'manual', at: '2024-05-01T11:00:00Z' } };
    const stream = contactStreamId(contactIdFor(ws, 'ada@example.com'));
    await env.store.append(stream, [{ ...merged, metadata: { correlationId: 'c', causationId: null, commandId: null, actor: 't', workspaceId: ws, schemaVersion: 1 } }], { expectedRevision: 1 });
    const again = await runImport(textSource('email\nada@example.com\n'), options(ws, { mapping: simple }));
    expect(again).toMatchObject({ status: 'completed', failedRows: 1 });
    const { rows } = await listRowErrors(env.jobs, again.jobId, { limit: 5 });
    expect(rows[0]).toMatchObject({ row: 2, column: 'email', reason: expect.stringMatching(/merged into contact f0000000/) });
  });

  it('keeps counting row errors beyond the stored ones', async () => {
    const ws = `ws-${randomUUID()}`;
    const summary = await runImport(textSource(['email', ...Array.from({ length: 30 }, (_, i) => `bad-${i}`)].join('\n')), options(ws, { mapping: parseImportMapping({ email: 'email' }) }));
    expect(summary).toMatchObject({ failedRows: 30, storedErrors: 30 });
  });
});
