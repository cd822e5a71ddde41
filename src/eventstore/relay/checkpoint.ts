import { sql, type Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';

export async function readRelayCheckpoint(db: Kysely<Database>, relay: string): Promise<bigint | null> {
  const row = await db.selectFrom('relay_checkpoints').select('position').where('relay', '=', relay).executeTakeFirst();
  return row === undefined || row.position === '0' ? null : BigInt(row.position);
}

/** Moves the checkpoint forward only (a late flush never rewinds it), unless a replay asks for it. */
export async function writeRelayCheckpoint(
  db: Kysely<Database>,
  relay: string,
  position: bigint,
  options: { allowBackwards?: boolean } = {},
): Promise<void> {
  await db
    .insertInto('relay_checkpoints')
    .values({ relay, position: position.toString() })
    .onConflict((oc) =>
      oc.column('relay').doUpdateSet({
        position: options.allowBackwards
          ? sql`excluded.position`
          : sql`greatest(relay_checkpoints.position, excluded.position)`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}
