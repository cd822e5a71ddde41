import { sql, type Kysely } from 'kysely';

/**
 * The A/B test phase (src/sagas/launch/testPhase.ts): ledger rows of the holdout wait in status 'held' until the
 * winner is known, and a contact has at most one row per campaign (sample or holdout, never both: the database
 * enforces what the audience freeze guarantees).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE delivery_ledger DROP CONSTRAINT delivery_ledger_status_check`.execute(db);
  await sql`ALTER TABLE delivery_ledger ADD CONSTRAINT delivery_ledger_status_check CHECK (status IN ('held', 'pending', 'sending', 'sent', 'failed', 'unknown'))`.execute(db);
  await sql`CREATE UNIQUE INDEX delivery_ledger_one_per_contact ON delivery_ledger (campaign_id, contact_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS delivery_ledger_one_per_contact`.execute(db);
  await sql`DELETE FROM delivery_ledger WHERE status = 'held'`.execute(db);
  await sql`ALTER TABLE delivery_ledger DROP CONSTRAINT delivery_ledger_status_check`.execute(db);
  await sql`ALTER TABLE delivery_ledger ADD CONSTRAINT delivery_ledger_status_check CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown'))`.execute(db);
}
