import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll } from 'vitest';
import { issueApiKey } from '../../src/api/iam/apiKeys.js';
import type { ApiKeyRole } from '../../src/api/iam/permissions.js';
import { createWorkspace } from '../../src/api/iam/workspaces.js';
import type { ServerDeps } from '../../src/api/server.js';
import { withGroupCommit } from '../../src/eventstore/groupCommit.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/eventstore/postgres/index.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { ContactKeyStore } from '../../src/privacy/keyStore.js';
import { protectEventStore } from '../../src/privacy/protectedStore.js';
import { loadConfig, type Config } from '../../src/infra/config.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createKysely, createPool } from '../../src/infra/postgres.js';
import { migrateReadModels } from '../../src/projections/db/migrate.js';
import type { Database } from '../../src/projections/db/schema.js';
import { uniquePrefix, useNats } from '../support/nats.js';
import { useTestDatabase } from '../support/postgres.js';

/** Real infrastructure for one API test file: its own database (read models + event store) and NATS prefix. */
export interface ApiTestEnv {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly db: Kysely<Database>;
  readonly eventStore: EventStore;
  readonly nats: NatsConnection;
  readonly config: Config;
  readonly deps: ServerDeps;
}

/** Closed after the file by one file-level hook (vitest ignores an afterAll registered inside beforeAll). */
const openStores: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(openStores.splice(0).map((s) => s.close().catch(() => {})));
});

export async function useApiTestEnv(label: string): Promise<ApiTestEnv> {
  const { url } = await useTestDatabase(label);
  const nats = await useNats(uniquePrefix(label));
  const pool = createPool({ connectionString: url, max: 5 });
  const db = createKysely<Database>(pool);
  await migrateReadModels(db);
  await migrateEventStore(pool);
  // The production stack (openEventStore): group commit over personal data sealed under per-contact keys, reads
  // opened and upcast.
  const eventStore = withGroupCommit(protectEventStore(createPostgresEventStore({ pool }), new ContactKeyStore(db)));
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, LOG_LEVEL: 'silent' });
  openStores.push({ close: async () => { await eventStore.close(); await db.destroy(); } });
  return { url, pool, db, eventStore, nats, config, deps: { config, db, eventStore, nats, logger: silentLogger } };
}

export interface SeededWorkspace {
  readonly workspaceId: string;
  readonly keys: Record<ApiKeyRole, { readonly id: string; readonly key: string }>;
}

/** A workspace with one key of every role. */
export async function seedWorkspace(db: Kysely<Database>, name = `ws-${randomUUID().slice(0, 8)}`): Promise<SeededWorkspace> {
  const workspace = await createWorkspace(db, { name, createdBy: 'test' });
  const issue = async (role: ApiKeyRole) => {
    const { apiKey, key } = await issueApiKey(db, { workspaceId: workspace.id, name: `${role} key`, role, createdBy: 'test' });
    return { id: apiKey.id, key };
  };
  return {
    workspaceId: workspace.id,
    keys: { admin: await issue('admin'), marketer: await issue('marketer'), auditor: await issue('auditor'), service: await issue('service') },
  };
}

export interface GraphQLResponse {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  // The JSON body of a GraphQL response; tests read into it freely.
  readonly body: {
    data?: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any -- shape depends on the query
    errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
  };
}

export async function gql(
  app: FastifyInstance,
  key: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse> {
  const response = await app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
    payload: { query, variables },
  });
  return { statusCode: response.statusCode, headers: response.headers, body: response.json() };
}
