import { createHash } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCommandServer } from '../../src/api/commands/natsCommandServer.js';
import { buildServer } from '../../src/api/server.js';
import { ConfigError, loadConfig } from '../../src/infra/config.js';
import { resolveDatabase } from '../../src/infra/database.js';
import { createLogger } from '../../src/infra/logger.js';
import { senderFromConfig } from '../../src/sagas/launch/handler.js';
import { gql, seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { subscribe } from '../support/graphqlWs.js';
import { uniquePrefix } from '../support/nats.js';

/**
 * Secrets stay secret: API keys are stored only as SHA-256 hashes (no plaintext anywhere in the database), and
 * no log line — at trace level, through key creation, authentication (good and bad keys, HTTP, WebSocket and
 * NATS) and start-up errors — holds an API key, TRACKING_SECRET or a password from SMTP_URL or DATABASE_URL.
 */

const TRACKING_SECRET = 'tracking-secret-ZQ8wT5vY2pL9kM4nB7xC1';
const SMTP_PASSWORD = 'smtpPassw0rd-Hx7Jq';
const DB_PASSWORD = 'dbPassw0rd-Kq2Lm';

const env = await useApiTestEnv('security_secrets');
const lines: string[] = [];
const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
const config = loadConfig({
  NODE_ENV: 'test',
  DATABASE_URL: `postgres://root:${DB_PASSWORD}@127.0.0.1:1/nowhere`,
  SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:1`,
  TRACKING_SECRET,
  LOG_LEVEL: 'trace',
  RATE_LIMIT: 'off',
});
const issued: string[] = [];
let app: FastifyInstance;
let ws: SeededWorkspace;
const prefix = uniquePrefix('secsecrets');
let commands: NatsCommandServer;

beforeAll(async () => {
  app = await buildServer({ ...env.deps, config, logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  commands = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger, now: () => new Date() });
  commands.start();
  ws = await seedWorkspace(env.db);
  issued.push(...Object.values(ws.keys).map((k) => k.key));
});
afterAll(async () => {
  await commands.stop();
  await app.close();
});

describe('API keys at rest', () => {
  it('are stored as SHA-256 only: no table holds a plaintext key', async () => {
    const response = await gql(app, ws.keys.admin.key, 'mutation { issueApiKey(input: { name: "ci", role: SERVICE }) { key apiKey { id } } }');
    const key = response.body.data!.issueApiKey.key as string;
    expect(key).toMatch(/^mk_/);
    issued.push(key);
    const stored = await sql<{ key_hash: string; key_prefix: string }>`SELECT key_hash, key_prefix FROM api_keys WHERE id = ${response.body.data!.issueApiKey.apiKey.id}`.execute(env.db);
    expect(stored.rows[0]!.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(key.startsWith(stored.rows[0]!.key_prefix) && stored.rows[0]!.key_prefix.length <= 10).toBe(true);
    const tables = await sql<{ schema: string; name: string }>`
      SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`.execute(env.db);
    expect(tables.rows.length).toBeGreaterThan(5);
    for (const { schema, name } of tables.rows) {
      for (const secret of issued) {
        // The prefix alone identifies a key in listings; what must never be stored is the rest of it.
        const tail = secret.slice(10);
        const found = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(`${schema}.${name}`)} AS t WHERE t::text LIKE ${`%${tail}%`}`.execute(env.db);
        expect(Number(found.rows[0]!.n), `${schema}.${name} holds an API key`).toBe(0);
      }
    }
  });
});

describe('logs', () => {
  it('never hold an API key, the tracking secret or a password, whatever happens', async () => {
    const [admin, , , service] = issued;
    // Authentication: good keys, a well-formed unknown key, garbage, over HTTP.
    expect((await gql(app, admin, '{ me { role } }')).statusCode).toBe(200);
    expect((await gql(app, 'mk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '{ me { role } }')).statusCode).toBe(401);
    expect((await gql(app, `${admin}x`, '{ me { role } }')).statusCode).toBe(401);
    expect((await gql(app, admin, 'mutation { issueApiKey(input: { name: "", role: SERVICE }) { key } }')).body.errors).toBeDefined();
    // A failing request logged with its error, and the bounce webhook with a service key.
    await app.inject({ method: 'POST', url: '/webhooks/bounces', headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' }, payload: '{"messageId": 1}' });
    // WebSocket: the key in connection_init.
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/graphql`;
    const subscription = await subscribe(url, 'subscription { activityAppended { streamId } }', {}, { authorization: `Bearer ${admin}` });
    await subscription.close();
    // NATS commands: a good key and a bad one.
    for (const key of [admin, `${admin}zz`]) {
      const headers = natsHeaders();
      headers.set('Authorization', `Bearer ${key}`);
      await env.nats.request(`${prefix}.commands.CreateContact`, JSON.stringify({ input: { email: 'logs@example.com' } }), { timeout: 5_000, headers });
    }
    // Start-up paths that handle the URLs with passwords: the SMTP sender, an unreachable DATABASE_URL.
    const sender = senderFromConfig(config, logger);
    await sender?.verify?.().catch(() => undefined);
    await sender?.close?.();
    const unreachable = await resolveDatabase(config, logger).then(
      () => 'reached',
      (error: unknown) => String(error),
    );
    expect(unreachable).toContain('Cannot reach PostgreSQL');
    expect(unreachable).not.toContain(DB_PASSWORD);

    const log = lines.join('');
    expect(lines.length, 'the logger captured the requests (not vacuous)').toBeGreaterThan(10);
    expect(log).toContain('incoming request');
    for (const secret of [...issued, TRACKING_SECRET, SMTP_PASSWORD, DB_PASSWORD]) {
      expect(log.includes(secret), `the log holds ${secret.slice(0, 6)}…`).toBe(false);
    }
  });

  it('configuration errors name the variable, never the password', () => {
    for (const [variable, value] of [
      ['DATABASE_URL', `mysql://root:${DB_PASSWORD}@db/x`],
      ['SMTP_URL', `http://mailer:${SMTP_PASSWORD}@mail`],
    ] as const) {
      let message = '';
      try {
        loadConfig({ [variable]: value });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toContain(variable);
      expect(message).not.toContain(DB_PASSWORD);
      expect(message).not.toContain(SMTP_PASSWORD);
    }
  });
});
