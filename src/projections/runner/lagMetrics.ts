import type { Kysely } from 'kysely';
import type { EventStore } from '../../eventstore/port.js';
import { lagGauge } from '../../infra/metrics.js';
import type { Database } from '../db/schema.js';

/**
 * Relay and projection lag, computed at scrape time: events in the store not yet published (relay) or applied
 * (each projection), and for projections the seconds since their checkpoint last moved while behind.
 */
export function registerLagGauges(deps: { store: EventStore; db: Kysely<Database>; relayCheckpointKey: string; projections: readonly string[] }): void {
  const head = async () => (await deps.store.headPosition()) ?? 0n;
  lagGauge('mkt_relay_lag_events', 'Events in the store not yet acknowledged by JetStream.', [], async (gauge) => {
    const row = await deps.db.selectFrom('relay_checkpoints').select('position').where('relay', '=', deps.relayCheckpointKey).executeTakeFirst();
    gauge.set(Number((await head()) - BigInt(row?.position ?? '0')));
  });
  const checkpoints = () => deps.db.selectFrom('projection_checkpoints').selectAll().execute();
  lagGauge('mkt_projection_lag_events', 'Events in the store a projection has not applied yet.', ['projection'], async (gauge) => {
    const [position, rows] = await Promise.all([head(), checkpoints()]);
    for (const name of deps.projections) {
      const row = rows.find((r) => r.projection === name);
      gauge.set({ projection: name }, Math.max(0, Number(position - BigInt(row?.position ?? '0'))));
    }
  });
  lagGauge('mkt_projection_lag_seconds', 'Seconds since a projection that is behind last moved its checkpoint (0 when caught up).', ['projection'], async (gauge) => {
    const [position, rows] = await Promise.all([head(), checkpoints()]);
    for (const name of deps.projections) {
      const row = rows.find((r) => r.projection === name);
      const behind = position > BigInt(row?.position ?? '0');
      gauge.set({ projection: name }, behind && row !== undefined ? (Date.now() - row.updated_at.getTime()) / 1000 : 0);
    }
  });
}
