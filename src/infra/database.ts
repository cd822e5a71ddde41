import pg from 'pg';
import { type Config, redact } from './config.js';
import { type EmbeddedPostgresMode, startEmbeddedPostgres } from './embeddedPostgres.js';
import type { Logger } from './logger.js';
import { describeError } from './osProcess.js';

export interface ResolvedDatabase {
  readonly url: string;
  /** True when the URL points at the embedded PostgreSQL (DATABASE_URL unset). */
  readonly embedded: boolean;
  /** How the embedded server was obtained; undefined when DATABASE_URL is set. */
  readonly embeddedMode: EmbeddedPostgresMode | undefined;
  /** Stops the embedded server if this process started (or adopted) it; a no-op otherwise. */
  stop(): Promise<void>;
}

/**
 * The PostgreSQL the application uses: DATABASE_URL when set, otherwise the embedded server under
 * `<dataDir>/pg` (started, or attached to when another process of ours runs it). Either way it is checked with
 * `select 1` before returning, so an unreachable database stops start-up with one clear message.
 */
export async function resolveDatabase(config: Config, logger: Logger): Promise<ResolvedDatabase> {
  if (config.databaseUrl !== undefined) {
    const url = config.databaseUrl;
    try {
      await checkReachable(url);
    } catch (error) {
      throw new Error(
        `Cannot reach PostgreSQL at DATABASE_URL=${redact(url)}: ${describeError(error)}. ` +
          'Check that the server runs and the URL is right, or unset DATABASE_URL to use the embedded PostgreSQL.',
      );
    }
    logger.info({ url: redact(url) }, 'using PostgreSQL from DATABASE_URL');
    return { url, embedded: false, embeddedMode: undefined, stop: async () => {} };
  }
  const server = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, logger });
  try {
    await checkReachable(server.url);
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw new Error(
      `The embedded PostgreSQL on port ${config.embeddedPgPort} (${redact(server.url)}) does not answer: ${describeError(error)}. ` +
        'Set DATABASE_URL to use another PostgreSQL.',
    );
  }
  logger.info({ url: redact(server.url), mode: server.mode }, 'using the embedded PostgreSQL');
  return { url: server.url, embedded: true, embeddedMode: server.mode, stop: () => server.stop() };
}

async function checkReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {}); // a connection dropped after the check is not our concern here
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
