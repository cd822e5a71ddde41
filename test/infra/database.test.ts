import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infra/config.js';
import { resolveDatabase } from '../../src/infra/database.js';
import { silentLogger } from '../../src/infra/logger.js';
import { ADMIN_URL } from '../support/postgres.js';

describe('resolveDatabase with DATABASE_URL', () => {
  it('uses a reachable DATABASE_URL as it is, and stop() does nothing', async () => {
    const db = await resolveDatabase(loadConfig({ DATABASE_URL: ADMIN_URL }), silentLogger);
    expect(db).toMatchObject({ url: ADMIN_URL, embedded: false, embeddedMode: undefined });
    await db.stop();
  });

  it('fails with a clear message naming DATABASE_URL, password redacted, when it is unreachable', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://root:s3cret@127.0.0.1:1/x' });
    const attempt = resolveDatabase(config, silentLogger);
    await expect(attempt).rejects.toThrow(/^Cannot reach PostgreSQL at DATABASE_URL=postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
    await expect(attempt).rejects.not.toThrow(/s3cret/);
  });
});
