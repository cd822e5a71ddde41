import type pg from 'pg';

/**
 * One LISTEN connection per store, shared by every subscription: `es_append` NOTIFYs `es_appended` at commit.
 * Notifications are only a wake-up; subscriptions also poll, so a lost connection costs latency, never events.
 */
export class AppendNotifier {
  private client: pg.PoolClient | null = null;
  private connecting: Promise<void> | null = null;
  private waiters = new Set<() => void>();
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  waitForAppend(ms: number): Promise<void> {
    void this.ensureListening();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
    const client = this.client;
    this.client = null;
    if (client !== null) {
      client.removeAllListeners('notification');
      releaseOnce(client);
    }
  }

  private ensureListening(): Promise<void> {
    if (this.closed || this.client !== null) return Promise.resolve();
    this.connecting ??= (async () => {
      try {
        const client = await this.pool.connect();
        if (this.closed) {
          releaseOnce(client);
          return;
        }
        client.on('notification', () => {
          for (const wake of [...this.waiters]) wake();
        });
        client.on('error', () => {
          // The server went away: drop this client; the next wait re-listens (polling covers the gap).
          if (this.client === client) this.client = null;
          releaseOnce(client);
        });
        await client.query('LISTEN es_appended');
        this.client = client;
      } catch {
        // Database unreachable: subscriptions keep polling until it is back.
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }
}

const released = new WeakSet<pg.PoolClient>();

/**
 * Destroys the LISTEN client once. A dying connection can emit 'error' twice, or after close() released it (its
 * database dropped): a second release() throws inside the emit and would crash the process. The 'error' listener
 * stays attached, so a late error on the destroyed client is absorbed.
 */
function releaseOnce(client: pg.PoolClient): void {
  if (released.has(client)) return;
  released.add(client);
  client.release(true);
}
