import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redact } from '../../src/infra/config.js';

const fails = (env: Record<string, string>, variable: string, message: RegExp) => {
  let error: unknown;
  try {
    loadConfig(env);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).variable).toBe(variable);
  expect((error as ConfigError).message).toMatch(message);
};

describe('configuration', () => {
  it('defaults to the embedded PostgreSQL event store, local NATS and every role', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      eventStore: 'postgres',
      natsUrl: 'nats://127.0.0.1:4222',
      natsPrefix: 'mkt',
      port: 4000,
      logLevel: 'info',
      roles: ['api', 'relay', 'projector', 'saga'],
    });
  });

  it('names the bad variable in one clear message', () => {
    fails({ EVENT_STORE: 'mongo' }, 'EVENT_STORE', /must be one of postgres, esdb/);
    fails({ EVENT_STORE: 'esdb' }, 'ESDB_CONNECTION_STRING', /required when EVENT_STORE=esdb/);
    fails({ EVENT_STORE: 'esdb', ESDB_CONNECTION_STRING: 'http://x' }, 'ESDB_CONNECTION_STRING', /esdb:/);
    fails({ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /not a URL/);
    fails({ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL', /postgres:/);
    fails({ NATS_URL: 'http://127.0.0.1:4222' }, 'NATS_URL', /nats:/);
    fails({ NATS_PREFIX: 'a.b' }, 'NATS_PREFIX', /one subject token/);
    fails({ PORT: '99999' }, 'PORT', /0 to 65535/);
    fails({ PORT: '12ab' }, 'PORT', /integer/);
    fails({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of/);
    fails({ TRACKING_SECRET: 'short' }, 'TRACKING_SECRET', /32 characters/);
    fails({ NODE_ENV: 'production' }, 'TRACKING_SECRET', /required when NODE_ENV=production/);
    fails({ ROLES: 'api,mailer' }, 'ROLES', /unknown role "mailer"/);
    fails({ SMTP_URL: 'ftp://x' }, 'SMTP_URL', /smtp:/);
  });

  it('never prints a password from a URL', () => {
    expect(redact('postgres://user:secret@db:5432/x')).toBe('postgres://user:***@db:5432/x');
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:secret@db/x' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toContain('secret');
  });
});
