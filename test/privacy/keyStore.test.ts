/**
 * The key store's one-statement `ensure` over a batch: new keys are created, existing ones returned unchanged, a
 * key of another workspace or an erased one is never handed out — also when new and existing contacts are mixed.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { ContactKeyStore } from '../../src/privacy/keyStore.js';
import { useTestDatabase } from '../support/postgres.js';

let db: Kysely<Database>;
let keys: ContactKeyStore;

beforeAll(async () => {
  const { url } = await useTestDatabase('key_store');
  db = createKysely<Database>(createPool({ connectionString: url, max: 3 }));
  await migrateReadModels(db);
  keys = new ContactKeyStore(db);
});
afterAll(() => db.destroy());

const owner = (workspaceId = 'ws-a') => ({ contactId: randomUUID(), workspaceId });

describe('ContactKeyStore.ensure', () => {
  it('creates the missing keys and returns the existing ones unchanged, in one call over a mixed batch', async () => {
    const [a, b] = [owner(), owner()];
    const first = await keys.ensure([a, b]);
    expect([...first.values()].every((k) => Buffer.isBuffer(k) && k.length === 32)).toBe(true);
    const [c, d] = [owner(), owner()];
    const mixed = await keys.ensure([c, a, d, b, a]);
    expect(mixed.size).toBe(4);
    expect(mixed.get(a.contactId)).toEqual(first.get(a.contactId));
    expect(mixed.get(b.contactId)).toEqual(first.get(b.contactId));
    expect(mixed.get(c.contactId)).not.toEqual(mixed.get(d.contactId));
    expect(await keys.lookup([a.contactId, b.contactId, c.contactId, d.contactId])).toEqual(mixed);
  });

  it('never hands out a key of another workspace or an erased one, next to new contacts', async () => {
    const [mine, theirs, erased] = [owner('ws-a'), owner('ws-b'), owner('ws-a')];
    await keys.ensure([theirs, erased]);
    await keys.destroy([erased]);
    const fresh = owner('ws-a');
    const got = await keys.ensure([mine, { ...theirs, workspaceId: 'ws-a' }, erased, fresh]);
    expect(got.get(theirs.contactId)).toBe('erased');
    expect(got.get(erased.contactId)).toBe('erased');
    expect(Buffer.isBuffer(got.get(mine.contactId))).toBe(true);
    expect(Buffer.isBuffer(got.get(fresh.contactId))).toBe(true);
    expect(Buffer.isBuffer((await keys.lookup([theirs.contactId])).get(theirs.contactId))).toBe(true);
  });

  it('returns the key another writer created concurrently (not "erased"), once that writer commits', async () => {
    const racer = owner();
    const theirKey = Buffer.alloc(32, 7);
    // The other writer's insert, not yet committed: ensure's INSERT waits for it, then skips the row.
    const other = await db.connection().execute(async (conn) => {
      await sql`BEGIN`.execute(conn);
      await sql`INSERT INTO contact_keys (contact_id, workspace_id, data_key) VALUES (${racer.contactId}, ${racer.workspaceId}, ${theirKey})`.execute(conn);
      const ensuring = keys.ensure([racer, owner()]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sql`COMMIT`.execute(conn);
      return ensuring;
    });
    expect(other.get(racer.contactId)).toEqual(theirKey);
    expect(other.size).toBe(2);
  });
});
