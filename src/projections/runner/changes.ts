import type { NatsConnection } from '@nats-io/transport-node';
import type { RecordedEvent } from '../../eventstore/port.js';

/**
 * After a projection commits a batch it announces, on core NATS (fire and forget), which streams changed:
 * `<prefix>.changes.<projection>.<workspaceId>.<streamId>` with `{ streamId, positions }`. API instances relay
 * these to GraphQL subscriptions, which re-read the read model; so live dashboards work with any number of API
 * instances, and a lost announcement only delays an update (the read model is the truth).
 */
export function changesSubject(prefix: string, projection: string, workspaceId: string, streamId: string): string {
  return `${prefix}.changes.${projection}.${subjectToken(workspaceId)}.${streamId}`;
}

export interface ChangeNotice {
  readonly streamId: string;
  /** Positions of the events applied for this stream in the batch, ascending, as decimal strings. */
  readonly positions: readonly string[];
}

export function announceChanges(nats: NatsConnection, prefix: string, projection: string, applied: readonly RecordedEvent[]): void {
  if (applied.length === 0 || nats.isClosed()) return;
  const byStream = new Map<string, { workspaceId: string; positions: string[] }>();
  for (const event of applied) {
    const entry = byStream.get(event.streamId) ?? { workspaceId: event.metadata.workspaceId, positions: [] };
    entry.positions.push(event.position.toString());
    byStream.set(event.streamId, entry);
  }
  for (const [streamId, { workspaceId, positions }] of byStream) {
    const notice: ChangeNotice = { streamId, positions };
    nats.publish(changesSubject(prefix, projection, workspaceId, streamId), JSON.stringify(notice));
  }
}

/** Workspace ids are uuids; anything else is made safe for a subject token. */
export function subjectToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}
