import type pg from 'pg';

/**
 * "One active instance at a time" through a PostgreSQL session advisory lock held on a dedicated connection.
 * When that connection dies (Postgres restarted, network cut), the lock is gone: `lost` resolves and the
 * holder must stop acting as leader; another instance may then take over.
 */
export class Leadership {
  private client: pg.PoolClient | null = null;
  private lostResolve: (() => void) | null = null;
  /** Resolves when leadership is lost after having been acquired. */
  lost: Promise<void> = new Promise(() => {});

  constructor(
    private readonly pool: pg.Pool,
    readonly key: string,
  ) {}

  get isLeader(): boolean {
    return this.client !== null;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.client !== null) return true;
    const client = await this.pool.connect();
    let acquired = false;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [this.key]);
      acquired = rows[0]?.ok === true;
    } finally {
      if (!acquired) client.release();
    }
    if (!acquired) return false;
    this.client = client;
    this.lost = new Promise((resolve) => (this.lostResolve = resolve));
    const onLost = () => this.drop(client, true);
    client.on('error', onLost);
    client.on('end', onLost);
    return true;
  }

  async release(): Promise<void> {
    const client = this.client;
    if (client === null) return;
    try {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.key]);
    } catch {
      // The connection is gone, and with it the lock.
    }
    this.drop(client, false);
  }

  private drop(client: pg.PoolClient, destroy: boolean): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('error');
    client.removeAllListeners('end');
    client.release(destroy);
    this.lostResolve?.();
  }
}
