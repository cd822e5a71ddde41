import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';
import { ERROR_CODES } from '../../src/api/errors.js';

/**
 * Shared pieces of the property-based (fast-check) fuzz tests. Runs are bounded so that each file takes a few
 * seconds on two cores; the seed is fixed so that a run is repeatable, and fast-check prints it (with the
 * shrunk counterexample and its path) on failure. Explore other inputs with `FUZZ_SEED=<n> FUZZ_RUNS=<n>`
 * (FUZZ_RUNS=100 is the default size; 1000 runs ten times as many); `FUZZ_STATS=1` prints the code of every
 * GraphQL answer, to see how deep the generated inputs get.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const RUNS_FACTOR = process.env.FUZZ_RUNS === undefined ? 1 : Number(process.env.FUZZ_RUNS) / 100;

export function fuzzParams(numRuns: number): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(numRuns * RUNS_FACTOR)), endOnFailure: true };
}

/** Strings that break naive code: empty, whitespace, control characters, lone surrogates, markup, injections, huge. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '\ud800',
      '\uFEFFbom',
      '‮rtl',
      '👩‍👩‍👧‍👦',
      '<script>alert(1)</script>',
      '{{ 7 | times: 7 }}',
      '{% include "/etc/passwd" %}',
      "'; DROP TABLE es_events; --",
      '__proto__',
      'constructor',
      'toString',
      'a@b.co',
      'A@B.CO ',
      'x@xn--',
      '2026-13-45T99:99:99Z',
      '9999-12-31T23:59:59Z',
      '-1',
      'NaN',
      'null',
      '1e308',
      '../../../etc/passwd',
      'campaign-',
      'contact-x_y',
      'mk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ),
    weight: 3,
  },
  { arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'é'.repeat(n)), weight: 1 },
  // Characters PostgreSQL cannot store in text or jsonb, inside otherwise ordinary text.
  { arbitrary: fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom('\u0000', '\ud800', '\udfff'), fc.string({ maxLength: 10 })).map(([a, c, b]) => `${a}${c}${b}@example.com`), weight: 2 },
);

/** Any JSON value, nested a little: wrong types everywhere. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom(2 ** 31, -(2 ** 53), Number.MAX_SAFE_INTEGER, 0.5, -0),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    nastyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** The global event count of a PostgreSQL event store: unchanged after a refused input. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database that holds the event store's tables
export async function eventCount(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM es_events`.execute(db);
  return Number(rows[0]!.n);
}

const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
/** A stack frame (`at fn (file.ts:1:2)`), a file path of ours, or a driver's message: internals a client must never see. */
const LEAKS = [
  /\bat [^\s()]+ \([^)]*:\d+:\d+\)/,
  /(?:file:\/\/|\/)[\w./-]+\.(?:ts|js|mjs|cjs):\d+/,
  /node_modules/,
  /"stack"/,
  /\bsyntax error at or near\b/,
  /\brelation "[^"]+"/,
  /\bviolates (?:check|unique|foreign key|not-null) constraint\b/,
  /ECONNREFUSED/,
];

/** A client-facing error: a known code that is not INTERNAL. */
export function expectTypedCode(code: unknown, context: string): void {
  expect(KNOWN_CODES.has(code as string), `${context}: unknown code ${JSON.stringify(code)}`).toBe(true);
  expect(code, `${context}: an input error must not be INTERNAL`).not.toBe('INTERNAL');
}

export function expectNoLeak(body: string, context: string): void {
  for (const leak of LEAKS) expect(leak.test(body), `${context}: response leaks internals (${leak}): ${body.slice(0, 500)}`).toBe(false);
}
