import type pg from 'pg';
import { createKysely } from '../../infra/postgres.js';
import { migrateToLatest } from '../../projections/db/migrate.js';
import { eventStoreMigrations } from './migrations.js';

export { createPostgresEventStore, type PostgresEventStoreOptions } from './postgresEventStore.js';

/** Creates or upgrades the event store's tables and its append function. */
export async function migrateEventStore(pool: pg.Pool): Promise<void> {
  const db = createKysely<unknown>(pool);
  await migrateToLatest(db, eventStoreMigrations, 'event_store_migrations');
}
