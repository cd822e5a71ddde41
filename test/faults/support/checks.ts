/** The checks every fault scenario ends with. */
import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';
import type { EventStore } from '../../../src/eventstore/port.js';
import type { Database } from '../../../src/projections/db/schema.js';
import { PROJECTIONS } from '../../../src/projections/index.js';
import { listParkedEvents, waitForProjection } from '../../../src/projections/runner/queries.js';
import { compareWithFreshRebuild, readWholeLog } from '../../support/rebuildCompare.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every projection has applied the store's head, with nothing parked. Returns the head. */
export async function projectionsCaughtUp(store: EventStore, db: Kysely<Database>, timeoutMs = 60_000): Promise<bigint> {
  const head = (await store.headPosition()) ?? 0n;
  for (const projection of PROJECTIONS) {
    if (await waitForProjection(db, projection.name, head, timeoutMs)) continue;
    const checkpoints = await db.selectFrom('projection_checkpoints').select(['projection', 'position']).execute();
    const relay = await db.selectFrom('relay_checkpoints').select(['relay', 'position']).execute();
    const { rows: sessions } = await sql<Record<string, unknown>>`SELECT pid, state, wait_event_type, wait_event, left(query, 80) AS query, now() - state_change AS for FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`.execute(db);
    expect.fail(`${projection.name} did not reach the head ${head} within ${timeoutMs} ms; checkpoints ${JSON.stringify(checkpoints)}, relay ${JSON.stringify(relay)}, sessions ${JSON.stringify(sessions)}`);
  }
  expect(await listParkedEvents(db)).toEqual([]);
  return head;
}

export interface LogFacts {
  readonly events: number;
  readonly rebuiltTables: number;
  readonly rebuiltRows: number;
}

/**
 * The store's log is dense (positions 1..n, each event id once), the activity read model has one row per event
 * (none lost, none applied twice), and every read model equals a fresh rebuild from position 0.
 */
export async function expectExactReadModels(store: EventStore, db: Kysely<Database>): Promise<LogFacts> {
  const log = await readWholeLog(store);
  expect(log.map((e) => e.position)).toEqual(log.map((_, i) => BigInt(i + 1)));
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
  const { rows } = await sql<{ n: string; d: string }>`SELECT count(*) AS n, count(DISTINCT position) AS d FROM activity_events`.execute(db);
  expect(rows[0]).toEqual({ n: String(log.length), d: String(log.length) });
  const comparison = await compareWithFreshRebuild(store, db);
  expect(comparison.differences).toEqual([]);
  const tables = Object.values(comparison.tables);
  return { events: log.length, rebuiltTables: tables.length, rebuiltRows: tables.reduce((a, b) => a + b, 0) };
}
