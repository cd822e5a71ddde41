import { sql, type Kysely } from 'kysely';
import type { Database } from '../projections/db/schema.js';
import type { ContactKeyStore, KeyOwner } from './keyStore.js';
import { erasedEmail, ERASED_TEXT } from './personalData.js';

/**
 * What erasing contacts does outside the event log, in one transaction of the read database:
 * - destroys their data keys (crypto-shredding: every copy of their sealed data in the log, in EventStoreDB or
 *   PostgreSQL, and in backups of the log, becomes unreadable),
 * - blanks the delivery ledger's copies (address, rendered subject, SMTP diagnostics), keeping the rows, their
 *   status and idempotency keys, so that no one is emailed twice and counts stay right,
 * - drops derived copies that are not projections of events: fold snapshots of temporal queries, and parked
 *   poison events (they keep a whole envelope).
 * The read models forget the contacts when their projections apply ContactErased.
 * Idempotent; returns the contacts whose key this call destroyed.
 */
export async function forgetContacts(db: Kysely<Database>, keys: ContactKeyStore, owners: readonly KeyOwner[]): Promise<string[]> {
  if (owners.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const destroyed = await keys.destroy(owners, trx);
    for (const { contactId, workspaceId } of owners) {
      await trx
        .updateTable('delivery_ledger')
        .set({ email: erasedEmail(contactId), subject: null, last_error: sql<string | null>`CASE WHEN last_error IS NULL THEN NULL ELSE ${ERASED_TEXT} END` })
        .where('workspace_id', '=', workspaceId)
        .where('contact_id', '=', contactId)
        .execute();
      const streams = [`contact-${contactId}`];
      const emailStreams = sql<boolean>`stream_id LIKE 'email-%' AND stream_id LIKE ${`%\\_${contactId}`}`;
      await trx.deleteFrom('temporal_snapshots').where((eb) => eb.or([eb('stream_id', 'in', streams), emailStreams])).execute();
      await trx.deleteFrom('projection_parked_events').where((eb) => eb.or([eb('stream_id', 'in', streams), emailStreams])).execute();
    }
    return destroyed;
  });
}
