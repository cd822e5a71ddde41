/**
 * The figures of each fault scenario (events, emails, faults injected, ...): printed as one line and kept in
 * test/faults/results.json (one entry per scenario, overwritten by the latest run) for the README and reports.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('../results.json', import.meta.url));

export async function recordFigures(scenario: string, figures: Readonly<Record<string, unknown>>): Promise<void> {
  const entry = { ...figures, at: new Date().toISOString() };
  // eslint-disable-next-line no-console -- the figures are the fault suite's report
  console.info(`fault figures ${scenario}: ${JSON.stringify(entry)}`);
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await readFile(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run: no file yet
  }
  all[scenario] = entry;
  const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
  await writeFile(RESULTS, `${JSON.stringify(sorted, null, 2)}\n`);
}
