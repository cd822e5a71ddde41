/**
 * A local SMTP sink for the demo and the launch benchmark (smtp-server on 127.0.0.1, a free port): it accepts
 * every message, discards the body, and counts accepted messages per recipient.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

export class CountingSmtpSink {
  /** Accepted messages per recipient (lower-cased). */
  readonly perRecipient = new Map<string, number>();
  accepted = 0;
  private readonly server: SMTPServer;
  private port = 0;

  constructor(private readonly options: { readonly keepCounts?: boolean } = {}) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      closeTimeout: 100,
      size: 0,
      onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback) => {
        stream.on('data', () => {});
        stream.on('end', () => {
          this.accepted++;
          if (this.options.keepCounts !== false) {
            for (const rcpt of session.envelope.rcptTo) {
              const email = rcpt.address.toLowerCase();
              this.perRecipient.set(email, (this.perRecipient.get(email) ?? 0) + 1);
            }
          }
          callback(null, 'Queued');
        });
      },
    });
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  countFor(email: string): number {
    return this.perRecipient.get(email.toLowerCase()) ?? 0;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        const address = this.server.server.address();
        if (typeof address === 'object' && address !== null) this.port = address.port;
        resolve();
      });
    });
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
