import WebSocket from 'ws';

/**
 * A minimal graphql-transport-ws client (the protocol mercurius speaks), enough to subscribe and collect
 * `next` payloads in tests.
 */
export interface WsSubscription {
  readonly received: unknown[];
  readonly errors: unknown[];
  /** Resolves when `count` payloads have arrived (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<unknown[]>;
  close(): Promise<void>;
  /** Resolves with the close code when the server closes the socket. */
  readonly closed: Promise<number>;
}

export async function subscribe(url: string, query: string, variables: Record<string, unknown>, init: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<WsSubscription> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
  const received: unknown[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const closed = new Promise<number>((resolve) => socket.on("close", (code: number) => resolve(code)));
  const acked = new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: init })));
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
        resolve();
      } else if (message.type === 'next') {
        received.push(message.payload);
        waiters.forEach((w) => w());
      } else if (message.type === 'error') {
        errors.push(message.payload);
        waiters.forEach((w) => w());
      }
    });
    socket.on('error', reject);
    void closed.then((code) => reject(new Error(`socket closed with ${code} before connection_ack`)));
  });
  await acked;
  return {
    received,
    errors,
    closed,
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} messages arrived`)), timeoutMs);
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            resolve(received);
          }
        };
        waiters.push(check);
        check();
      });
    },
    async close() {
      socket.close();
      await closed;
    },
  };
}
