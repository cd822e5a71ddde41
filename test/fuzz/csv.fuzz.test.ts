import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { contactStreamId } from '../../src/domain/contacts/events.js';
import { contactIdFor } from '../../src/domain/contacts/identity.js';
import { parseImportMapping } from '../../src/domain/contacts/import/mapping.js';
import { listRowErrors } from '../../src/sagas/import/jobs.js';
import { runImport, textSource, type ImportSource } from '../../src/sagas/import/runner.js';
import { useImportTestEnv, type ImportTestEnv } from '../sagas/import/support.js';
import { fuzzParams, nastyString } from './support.js';

/**
 * CSV files through the real import runner: valid rows mixed with garbage (wrong column counts, quotes, odd and
 * huge fields, NUL, BOMs, both line endings, invalid UTF-8). The runner never throws; a garbage row is a per-row
 * error; every valid row is imported as if the garbage were not there, unless the file's structure itself is
 * unreadable (an unclosed quote), which fails the job naming the line.
 */

let env: ImportTestEnv;
beforeAll(async () => {
  env = await useImportTestEnv('fuzzcsv');
});

const MAPPING = parseImportMapping({ email: 'Email', first_name: 'First', score: { column: 'Score', type: 'number' }, tags: { column: 'Tags', split: ';' } });
const HEADER = 'Email,First,Score,Tags';

const quoted = (field: string) => (/[",\r\n]/.test(field) || field.startsWith(' ') ? `"${field.replaceAll('"', '""')}"` : field);

type Line = { readonly kind: 'valid'; readonly email: string; readonly text: string } | { readonly kind: 'garbage'; readonly text: string } | { readonly kind: 'blank'; readonly text: '' };

const garbageField = fc.oneof(nastyString, fc.constantFrom('"', '""', '"a"b', 'a"b', '\uFEFF', ';;;', '1e999', '-0', 'x@', '@x.com', 'a@b', ' , '), fc.string({ unit: 'binary', maxLength: 30 }));
/** A garbage row whose fields are properly quoted: the structure stays readable, the content is hostile. */
const garbageRow: fc.Arbitrary<Line> = fc.array(garbageField, { maxLength: 7 }).map((fields) => ({ kind: 'garbage', text: fields.map(quoted).join(',') }));
/** A row with a valid email and hostile other fields: it reaches the domain and the store. */
const hostileRow: fc.Arbitrary<Line> = fc.tuple(fc.nat({ max: 1_000_000 }), garbageField, garbageField, garbageField).map(([n, first, score, tags]) => ({
  kind: 'garbage',
  text: [`hostile${n}@example.com`, quoted(first), quoted(score), quoted(tags)].join(','),
}));

// Every run imports into a new workspace, so emails only need to be unique within a file (a repeat is an update).
const validRow: fc.Arbitrary<Line> =
  fc.tuple(fc.nat({ max: 1_000_000 }), fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), fc.integer({ min: -1000, max: 1000 })).map(([n, first, score]) => {
    const email = `ok${n}@example.com`;
    return { kind: 'valid', email, text: [email, quoted(first.trim()), String(score), 'a;b'].join(',') };
  });

async function contactExists(workspaceId: string, email: string): Promise<boolean> {
  const read = await env.store.readStream(contactStreamId(contactIdFor(workspaceId, email)));
  return read.status === 'found';
}

const options = (workspaceId: string) => ({ store: env.store, db: env.db, workspaceId, actor: 'fuzz', fileName: 'fuzz.csv', mapping: MAPPING, batchSize: 4 });

describe('CSV import under garbage', () => {
  it('valid rows are imported whatever garbage rows surround them; garbage is a per-row error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          lines: fc.array(fc.oneof({ arbitrary: validRow, weight: 3 }, { arbitrary: garbageRow, weight: 2 }, { arbitrary: hostileRow, weight: 2 }, { arbitrary: fc.constant<Line>({ kind: 'blank', text: '' }), weight: 1 }), { minLength: 1, maxLength: 14 }),
          bom: fc.boolean(),
          eol: fc.constantFrom('\n', '\r\n'),
        }),
        async ({ lines, bom, eol }) => {
          const workspaceId = `ws-${randomUUID()}`;
          const csv = `${bom ? '\uFEFF' : ''}${HEADER}${eol}${lines.map((l) => l.text).join(eol)}`;
          const summary = await runImport(textSource(csv), options(workspaceId));
          const context = JSON.stringify({ csv: csv.slice(0, 600), summary });
          expect(summary.status, context).toBe('completed');
          const records = lines.filter((l) => l.kind !== 'blank' && !(l.kind === 'garbage' && /^(?:""|)$/.test(l.text)));
          expect(summary.processedRows, context).toBeLessThanOrEqual(records.length);
          for (const line of lines) if (line.kind === 'valid') expect(await contactExists(workspaceId, line.email), `${line.email} missing: ${context}`).toBe(true);
          const errors = (await listRowErrors(env.jobs, summary.jobId, { limit: 1000 })).rows;
          expect(new Set(errors.map((e) => e.row)).size, context).toBe(summary.failedRows);
          for (const error of errors) {
            expect(error.row, context).toBeGreaterThanOrEqual(2);
            expect(error.reason, context).not.toMatch(/Internal|invalid byte sequence|Unicode escape|syntax for type json/);
          }
        },
      ),
      fuzzParams(40),
    );
  });

  it('a file whose structure breaks (raw quotes) or whose bytes are not UTF-8 fails the job with a clear error, never a throw', async () => {
    const raw = fc.array(fc.array(garbageField, { maxLength: 5 }).map((f) => f.join(',')), { maxLength: 8 });
    const bytes = fc.uint8Array({ maxLength: 400 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(raw.map((rows) => Buffer.from([HEADER, ...rows].join('\n'), 'utf8')), bytes.map((b) => Buffer.concat([Buffer.from(`${HEADER}\n`), b]))), async (content) => {
        const source: ImportSource = { open: () => Readable.from([content]) };
        const summary = await runImport(source, options(`ws-${randomUUID()}`));
        expect(['completed', 'failed']).toContain(summary.status);
        if (summary.status === 'failed') {
          expect(summary.error, content.toString('utf8').slice(0, 300)).toMatch(/CSV|UTF-8|encoding|header|column/i);
        }
      }),
      fuzzParams(60),
    );
  });

  // Regression (found by this fuzzer): a NUL in a mapped field passed mapping and failed the store's batch; that
  // failure, in the last batches, was swallowed and the job "completed" with the batch's valid rows missing.
  it('a NUL in a field is an error of that row; the other rows of its batch are imported', async () => {
    const workspaceId = `ws-${randomUUID()}`;
    const csv = [HEADER, 'a@example.com,A,1,x', 'b@example.com,"B\u0000",2,y', 'c@example.com,C,3,z\u0000', 'd@example.com,D,4,w'].join('\n');
    const summary = await runImport(textSource(csv), options(workspaceId));
    expect(summary).toMatchObject({ status: 'completed', created: 2, failedRows: 2 });
    const errors = (await listRowErrors(env.jobs, summary.jobId, { limit: 10 })).rows.map((e) => [e.row, e.column, e.reason]);
    expect(errors).toEqual([[3, 'First', 'must not contain NUL characters'], [4, 'Tags', 'must not contain NUL characters']]);
    for (const email of ['a@example.com', 'd@example.com']) expect(await contactExists(workspaceId, email)).toBe(true);
  });

  it('a store failure in the last batch fails the job instead of completing it without those rows', async () => {
    const failing = new Proxy(env.store, {
      get: (target, property, receiver) => (property === 'appendMany' ? () => Promise.reject(new Error('store failed')) : Reflect.get(target, property, receiver)),
    });
    const summary = await runImport(textSource([HEADER, 'a@example.com,A,1,x'].join('\n')), { ...options(`ws-${randomUUID()}`), store: failing });
    expect(summary.status).toBe('failed');
    expect(summary.created).toBe(0);
  });
});
