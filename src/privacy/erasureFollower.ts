import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { eventStreamName } from '../infra/jetstream.js';
import type { Projection } from '../projections/runner/projectionRunner.js';
import { ContactKeyStore } from './keyStore.js';

export const ERASURE_FOLLOWER = 'privacy_erasure';

/**
 * Follows ContactErased on the published log (run by the projector role like a projection: durable consumer,
 * checkpoint in the read database) and finishes an erasure outside the log:
 * 1. destroys the contact's key again (idempotent: completes an EraseContact that crashed after its append);
 * 2. purges the contact's earlier messages from the JetStream events stream — the relay published them opened
 *    (readable), so that subscribers need no keys. Its contact stream's subjects keep only the last message
 *    (ContactErased itself); its email streams' subjects (`email-<campaign>_<contact>`, campaigns from the
 *    delivery ledger and the campaign statistics) are emptied.
 *
 * Why here and not in the command: the relay publishes in log order, so once ContactErased is in JetStream every
 * earlier event of the contact is there too — including any the relay had read, opened, before the key was
 * destroyed. A purge by the command could run before those arrive and miss them. A consumer that replays the
 * stream afterwards sees a gap in the published positions and reads the missing events from the store, where
 * they read as erased markers.
 */
export function createErasureFollower(nats: NatsConnection, prefix: string): Projection {
  return {
    name: ERASURE_FOLLOWER,
    eventTypes: ['ContactErased'],
    // Not a read model: it owns no tables to rebuild (the key store is not derived data), so it is not in PROJECTIONS.
    tables: [],
    async apply(trx, event) {
      if (!event.streamId.startsWith('contact-')) return;
      const contactId = event.streamId.slice('contact-'.length);
      await new ContactKeyStore(trx).destroy([{ contactId, workspaceId: event.metadata.workspaceId }], trx);
      const { rows } = await sql<{ campaign_id: string }>`
        SELECT campaign_id::text FROM delivery_ledger WHERE contact_id = ${contactId}
        UNION SELECT campaign_id::text FROM campaign_engagement WHERE contact_id = ${contactId}`.execute(trx);
      const jsm = await jetstreamManager(nats);
      const stream = eventStreamName(prefix);
      await jsm.streams.purge(stream, { filter: `${prefix}.events.contact.${event.streamId}.>`, keep: 1 });
      for (const { campaign_id } of rows) await jsm.streams.purge(stream, { filter: `${prefix}.events.email.email-${campaign_id}_${contactId}.>` });
    },
  };
}
