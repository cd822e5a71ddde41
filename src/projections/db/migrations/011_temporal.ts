import { sql, type Kysely } from 'kysely';

/**
 * Temporal queries (src/replay/): fold snapshots and the segment membership history. Both are derived data:
 * `temporal_snapshots` can be emptied at any time (folds then start from revision 0 and write them again);
 * `segment_membership_history` is written by the segments projection and is rebuilt with it.
 *
 * temporal_snapshots: the folded state of a stream after `revision`, for one fold version (the evolve code and
 * the event schema versions it was computed with; a changed evolve gets a new version and never reads old rows).
 * `recorded_at` is the time of the event at `revision`, so a fold "as of T" may start from any snapshot with
 * recorded_at <= T.
 *
 * segment_membership_history: one row per stay of a contact in a segment, [entered, left), with the global
 * position and time of the event that caused each change. "Who was in segment S at T" is the rows with
 * entered_at <= T < left_at (or left_at null).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE temporal_snapshots (
      stream_id text NOT NULL,
      fold_version text NOT NULL,
      revision int NOT NULL,
      workspace_id text NOT NULL,
      position int8 NOT NULL,
      recorded_at timestamptz NOT NULL,
      state jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (stream_id, fold_version, revision)
    )`.execute(db);

  // One index, the primary key: the exit of a contact's open stay is found by its prefix (workspace, segment,
  // contact), "members as of T" scans the segment's rows in contact id order (the members' page order). A full
  // evaluation of 1M contacts writes its members here too, so every extra index would be paid per member.
  await sql`
    CREATE TABLE segment_membership_history (
      workspace_id text NOT NULL,
      segment_id text NOT NULL,
      contact_id text NOT NULL,
      entered_position int8 NOT NULL,
      entered_at timestamptz NOT NULL,
      left_at timestamptz,
      left_position int8,
      PRIMARY KEY (workspace_id, segment_id, contact_id, entered_position)
    )`.execute(db);

  // emailsSent(contactId) finds a contact's deliveries through the ledger; without this it scans every row.
  await sql`CREATE INDEX delivery_ledger_by_contact ON delivery_ledger (workspace_id, contact_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX delivery_ledger_by_contact`.execute(db);
  await sql`DROP TABLE segment_membership_history`.execute(db);
  await sql`DROP TABLE temporal_snapshots`.execute(db);
}
