/**
 * Constant memory: a 50,000-row file is streamed, so RSS in the last part of the run is no higher than in the first part (a runner
 * that kept rows, results or errors per row would grow with the file). The bound is loose on purpose: GC timing
 * moves RSS by tens of MiB.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parseImportMapping } from '../../../src/domain/contacts/import/mapping.js';
import { fileSource, runImport } from '../../../src/sagas/import/runner.js';
import { useImportTestEnv, type ImportTestEnv } from './support.js';

const ROWS = 50_000;
let env: ImportTestEnv;
let path: string;

beforeAll(async () => {
  env = await useImportTestEnv('importmemory');
  path = join(env.dir, 'big.csv');
  const out = createWriteStream(path);
  out.write('email,name,score\n');
  for (let i = 0; i < ROWS; i++) {
    // Every 10th row is invalid: row errors must not accumulate in memory either.
    if (!out.write(i % 10 === 9 ? `broken-${i},Name ${i},${i}\n` : `person.${i}@example.com,Name ${i},${i}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
});

it('imports 50,000 rows with RSS not growing with the file', { timeout: 60_000 }, async () => {
  const samples: { rows: number; rss: number }[] = [];
  const mapping = parseImportMapping({ email: 'email', name: 'name', score: { column: 'score', type: 'number' } });
  const summary = await runImport(fileSource(path), {
    store: env.store,
    db: env.db,
    workspaceId: `ws-${randomUUID()}`,
    actor: 'test',
    fileName: 'big.csv',
    mapping,
    onProgress: (p) => samples.push({ rows: p.processedRows, rss: process.memoryUsage().rss }),
  });
  expect(summary).toMatchObject({ status: 'completed', processedRows: ROWS, created: ROWS * 0.9, failedRows: ROWS * 0.1, storedErrors: ROWS * 0.1 });

  const mib = (bytes: number) => bytes / 2 ** 20;
  // The heap settles within the first ~10,000 rows; after that a leak would show as steady growth.
  const warm = samples.filter((s) => s.rows <= ROWS * 0.4);
  const later = samples.filter((s) => s.rows > ROWS * 0.6);
  const warmPeak = Math.max(...warm.map((s) => s.rss));
  const laterPeak = Math.max(...later.map((s) => s.rss));
  // Holding every row (~50k contacts with their events) would add well over 100 MiB by the end.
  expect(mib(laterPeak - warmPeak)).toBeLessThan(64);
});
