import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { afterAll } from 'vitest';
import type { Reconciler } from '../../src/sagas/delivery/ledger.js';

/** A message the sink accepted (answered 250). */
export interface SinkMessage {
  readonly messageId: string;
  readonly from: string;
  readonly to: readonly string[];
  /** Raw header block (unfolded lines kept as sent). */
  readonly headers: string;
  readonly raw: string;
  readonly acceptedAt: number;
}

interface FailureRule {
  readonly code: number;
  remaining: number;
}

/**
 * A real SMTP server on 127.0.0.1 (smtp-server) standing in for the provider. It counts accepted messages per
 * recipient and records their Message-IDs (so it can answer reconciliation), can be told to answer 4xx/5xx for
 * given recipients, and can go down (stop listening, drop connections) and come back on the same port.
 */
export class SmtpSink {
  readonly accepted: SinkMessage[] = [];
  /** Every RCPT TO seen, accepted or not. */
  readonly rcptAttempts: string[] = [];
  private readonly rules = new Map<string, FailureRule>();
  private server: SMTPServer | null = null;
  private port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = this.createServer();
    await new Promise<void>((resolve, reject) => {
      const server = this.server!;
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        const address = server.server.address();
        if (typeof address === 'object' && address !== null) this.port = address.port;
        resolve();
      });
    });
  }

  /** Answers `code` to RCPT TO for this recipient, `times` times (then accepts), or always. */
  failRecipient(email: string, code: number, times = Number.POSITIVE_INFINITY): void {
    this.rules.set(email.toLowerCase(), { code, remaining: times });
  }

  countFor(email: string): number {
    return this.accepted.filter((m) => m.to.includes(email.toLowerCase())).length;
  }

  hasAccepted(messageId: string): boolean {
    return this.accepted.some((m) => m.messageId === messageId);
  }

  /** Reconciliation against what the sink accepted: it knows everything it took, so never 'unknown'. */
  reconciler(): Reconciler {
    return { wasAccepted: async (messageId) => (this.hasAccepted(messageId) ? 'yes' : 'no') };
  }

  /** The provider goes down: stops listening and drops every connection. */
  async down(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.server.close(() => resolve());
      for (const connection of server.connections) (connection as { _socket?: { destroy(): void } })._socket?.destroy();
    });
  }

  /** Back up on the same port. */
  async up(): Promise<void> {
    if (this.server === null) await this.start();
  }

  async close(): Promise<void> {
    await this.down();
  }

  private createServer(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      closeTimeout: 100,
      onRcptTo: (address, _session, callback) => {
        const email = address.address.toLowerCase();
        this.rcptAttempts.push(email);
        const rule = this.rules.get(email);
        if (rule !== undefined && rule.remaining > 0) {
          rule.remaining--;
          const error = Object.assign(new Error(rule.code >= 500 ? 'Mailbox unavailable' : 'Try again later'), { responseCode: rule.code });
          return callback(error);
        }
        callback();
      },
      onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
          const messageId = /^message-id:\s*<?([^>\r\n]+)>?/im.exec(headers)?.[1]?.trim() ?? '';
          const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
          const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
          this.accepted.push({ messageId, from, to, headers, raw, acceptedAt: performance.now() });
          callback(null, 'Queued');
        });
      },
    });
  }
}

/** A started sink, closed after the calling test file. */
export async function useSmtpSink(): Promise<SmtpSink> {
  const sink = new SmtpSink();
  await sink.start();
  afterAll(() => sink.close());
  return sink;
}

/** The value of a header in a raw header block (folded lines joined). */
export function headerValue(headers: string, name: string): string | undefined {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
