import type { Kysely } from 'kysely';
import type { EventStore } from '../../eventstore/port.js';
import { lagGauge } from '../../infra/metrics.js';
import type { Database } from '../db/schema.js';

/** How far one reader of the global log (the relay or a projection) is behind the store's head. */
export interface ReaderProgress {
  readonly name: string;
  /** null: it has not applied/published anything yet. */
  readonly checkpoint: bigint | null;
  /** Events in the store after the checkpoint (0 when caught up). */
  readonly lagEvents: number;
  /** Age of the oldest event after the checkpoint (0 when caught up): how stale the reader's view is. */
  readonly lagSeconds: number;
  /** When the checkpoint last moved (null: never). */
  readonly checkpointMovedAt: Date | null;
}

export interface ProgressDeps {
  readonly store: EventStore;
  readonly db: Kysely<Database>;
}

/**
 * The progress of the named projections, from the store's head, their checkpoints, and (only for those behind)
 * the first event after the checkpoint. One readAll of one event per distinct checkpoint that is behind.
 */
export async function projectionProgress(deps: ProgressDeps, projections: readonly string[], now = new Date()): Promise<ReaderProgress[]> {
  const [head, rows] = await Promise.all([deps.store.headPosition(), deps.db.selectFrom('projection_checkpoints').selectAll().execute()]);
  const oldest = oldestAfter(deps.store);
  return Promise.all(
    projections.map(async (name) => {
      const row = rows.find((r) => r.projection === name);
      const checkpoint = row === undefined || row.position === '0' ? null : BigInt(row.position);
      return progressOf(name, head, checkpoint, row?.updated_at ?? null, oldest, now);
    }),
  );
}

export async function relayProgress(deps: ProgressDeps, relayCheckpointKey: string, now = new Date()): Promise<ReaderProgress> {
  const [head, row] = await Promise.all([
    deps.store.headPosition(),
    deps.db.selectFrom('relay_checkpoints').select(['position', 'updated_at']).where('relay', '=', relayCheckpointKey).executeTakeFirst(),
  ]);
  const checkpoint = row === undefined || row.position === '0' ? null : BigInt(row.position);
  return progressOf('relay', head, checkpoint, row?.updated_at ?? null, oldestAfter(deps.store), now);
}

async function progressOf(
  name: string,
  head: bigint | null,
  checkpoint: bigint | null,
  movedAt: Date | null,
  oldest: (after: bigint | null) => Promise<Date | null>,
  now: Date,
): Promise<ReaderProgress> {
  const behind = head !== null && (checkpoint === null || head > checkpoint);
  if (!behind) return { name, checkpoint, lagEvents: 0, lagSeconds: 0, checkpointMovedAt: movedAt };
  const since = await oldest(checkpoint);
  return {
    name,
    checkpoint,
    // Positions are dense in the PostgreSQL store; for EventStoreDB this is a distance in its log, an upper bound.
    lagEvents: Number(head - (checkpoint ?? 0n)),
    lagSeconds: since === null ? 0 : Math.max(0, (now.getTime() - since.getTime()) / 1000),
    checkpointMovedAt: movedAt,
  };
}

/** recordedAt of the first event after a position, memoized per position (projections often share one). */
function oldestAfter(store: EventStore): (after: bigint | null) => Promise<Date | null> {
  const memo = new Map<string, Promise<Date | null>>();
  return (after) => {
    const key = String(after);
    let found = memo.get(key);
    if (found === undefined) {
      found = store.readAll({ after, maxCount: 1 }).then((events) => events[0]?.recordedAt ?? null);
      memo.set(key, found);
    }
    return found;
  };
}

/**
 * Gauges computed at scrape time (so every instance reports the same, whoever leads): relay and projection lag
 * in events and seconds, and launches by status.
 */
export function registerLagGauges(deps: ProgressDeps & { relayCheckpointKey: string; projections: readonly string[] }): void {
  lagGauge('mkt_relay_lag_events', 'Events in the store not yet acknowledged by JetStream.', [], async (gauge) => {
    gauge.set((await relayProgress(deps, deps.relayCheckpointKey)).lagEvents);
  });
  lagGauge('mkt_relay_lag_seconds', 'Age of the oldest event not yet acknowledged by JetStream (0 when caught up).', [], async (gauge) => {
    gauge.set((await relayProgress(deps, deps.relayCheckpointKey)).lagSeconds);
  });
  lagGauge('mkt_projection_lag_events', 'Events in the store a projection has not applied yet.', ['projection'], async (gauge) => {
    for (const p of await projectionProgress(deps, deps.projections)) gauge.set({ projection: p.name }, p.lagEvents);
  });
  lagGauge('mkt_projection_lag_seconds', 'Age of the oldest event a projection has not applied yet (0 when caught up): how stale its read model is.', ['projection'], async (gauge) => {
    for (const p of await projectionProgress(deps, deps.projections)) gauge.set({ projection: p.name }, p.lagSeconds);
  });
  lagGauge('mkt_saga_launches', 'Launched campaigns by status (running = the launch saga is in preflight, freezing or delivering), from the campaigns read model.', ['status'], async (gauge) => {
    const rows = await deps.db
      .selectFrom('campaigns')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .where('status', 'in', LAUNCHED)
      .where('launched_at', 'is not', null)
      .groupBy('status')
      .execute();
    for (const status of LAUNCHED) gauge.set({ status }, Number(rows.find((r) => r.status === status)?.n ?? 0));
  });
}

const LAUNCHED = ['running', 'paused', 'completed', 'cancelled', 'failed'] as const;
