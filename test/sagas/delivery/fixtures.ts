import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import type { EventStore } from '../../../src/eventstore/port.js';
import { createKysely, createPool } from '../../../src/infra/postgres.js';
import { migrateReadModels } from '../../../src/projections/db/migrate.js';
import type { Database } from '../../../src/projections/db/schema.js';
import type { RenderedEmail } from '../../../src/sagas/delivery/deliver.js';
import { messageIdFor } from '../../../src/sagas/delivery/identifiers.js';
import { DeliveryLedger, type DeliveryLedgerRow, type Recipient } from '../../../src/sagas/delivery/ledger.js';
import { trackingLinks } from '../../../src/sagas/delivery/trackingTokens.js';
import { useTestDatabase } from '../../support/postgres.js';

export const SECRET = 'test-tracking-secret-0123456789abcdef';
export const SENDER = { email: 'news@mail.example.com', name: 'Example' } as const;

export interface DeliveryTestEnv {
  readonly pool: pg.Pool;
  readonly db: Kysely<Database>;
  readonly eventStore: EventStore;
  readonly ledger: DeliveryLedger;
}

/** Its own database with read-model migrations (incl. the ledger) and the PostgreSQL event store. */
export async function useDeliveryTestEnv(label: string): Promise<DeliveryTestEnv> {
  const { url } = await useTestDatabase(label);
  const pool = createPool({ connectionString: url, max: 10 });
  const db = createKysely<Database>(pool);
  await migrateReadModels(db);
  await migrateEventStore(pool);
  const eventStore = createPostgresEventStore({ pool });
  afterAll(async () => {
    await eventStore.close();
    await db.destroy();
  });
  return { pool, db, eventStore, ledger: new DeliveryLedger(db) };
}

export function recipients(count: number, options: { workspaceId?: string; campaignId?: string; variantKey?: string; prefix?: string } = {}): Recipient[] {
  const workspaceId = options.workspaceId ?? `ws-${randomUUID().slice(0, 8)}`;
  const campaignId = options.campaignId ?? randomUUID();
  const variantKey = options.variantKey ?? 'A';
  const prefix = options.prefix ?? randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, i) => {
    const contactId = randomUUID();
    return { workspaceId, campaignId, variantKey, contactId, email: `${prefix}-${i}@example.org`, messageId: messageIdFor(campaignId, variantKey, contactId, 'mail.example.com') };
  });
}

/** A render step like the saga's: the recipient's email with its signed unsubscribe link. */
export async function render(row: DeliveryLedgerRow): Promise<RenderedEmail> {
  const links = trackingLinks(SECRET, 'https://t.example.com', { workspaceId: row.workspace_id, campaignId: row.campaign_id, variantKey: row.variant_key, contactId: row.contact_id });
  return {
    campaignRevision: 7,
    templateId: 'template-1',
    templateVersion: 2,
    message: {
      campaignId: row.campaign_id,
      variantKey: row.variant_key,
      contactId: row.contact_id,
      to: row.email,
      from: SENDER,
      replyTo: null,
      subject: `Hello ${row.email}`,
      html: `<p>Hi</p><img src="${links.openPixel}">`,
      text: 'Hi',
      unsubscribeUrl: links.unsubscribe,
    },
  };
}
