import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/infra/logger.js';
import {
  CircuitOpenError,
  classifySmtpError,
  createSmtpSender,
  ProviderUnavailableError,
  type EmailSender,
  type OutgoingEmail,
  type SmtpSenderOptions,
} from '../../../src/sagas/delivery/smtpSender.js';
import { freePort } from '../../infra/freePort.js';
import { headerValue, useSmtpSink } from '../../support/smtpSink.js';

const sink = await useSmtpSink();
const senders: EmailSender[] = [];
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
});

function sender(options: Partial<SmtpSenderOptions> = {}): EmailSender {
  const created = createSmtpSender({ smtpUrl: sink.url, logger: silentLogger, backoffBaseMs: 10, backoffMaxMs: 40, ratePerSecond: 1_000, ...options });
  senders.push(created);
  return created;
}

function email(to: string, overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    campaignId: randomUUID(),
    variantKey: 'A',
    contactId: randomUUID(),
    to,
    from: { email: 'news@mail.example.com', name: 'Example News' },
    replyTo: null,
    subject: 'Hello',
    html: '<p>Hello</p>',
    text: 'Hello',
    unsubscribeUrl: 'https://t.example.com/t/u/abc.def',
    ...overrides,
  };
}

const rcptCount = (address: string) => sink.rcptAttempts.filter((a) => a === address).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SMTP sender against a real SMTP server', () => {
  it('sends with a deterministic Message-ID and RFC 8058 one-click unsubscribe headers', async () => {
    const s = sender();
    await s.verify();
    const message = email('reader@example.org');
    const result = await s.send(message);
    const expectedId = `${message.campaignId}.A.${message.contactId}@mail.example.com`;
    expect(result).toMatchObject({ accepted: true, messageId: expectedId, smtpCode: 250, attempts: 1 });
    const received = sink.accepted.find((m) => m.messageId === expectedId)!;
    expect(received.to).toEqual(['reader@example.org']);
    expect(headerValue(received.headers, 'Message-ID')).toBe(`<${expectedId}>`);
    expect(headerValue(received.headers, 'List-Unsubscribe')).toBe(
      `<https://t.example.com/t/u/abc.def>, <mailto:unsubscribe@mail.example.com?subject=unsubscribe%20${encodeURIComponent(expectedId)}>`,
    );
    expect(headerValue(received.headers, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
  });

  it('respects the rate limit (token bucket), also with concurrent callers', async () => {
    const s = sender({ ratePerSecond: 20, burst: 1, concurrency: 5, maxConnections: 3 });
    await s.verify();
    const to = `rate-${randomUUID().slice(0, 8)}@example.org`;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 12 }, () => s.send(email(to))));
    const elapsed = performance.now() - started;
    expect(results.every((r) => r.accepted)).toBe(true);
    const times = sink.accepted.filter((m) => m.to.includes(to)).map((m) => m.acceptedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(12);
    // 12 messages at 20/s with a burst of 1 cannot all leave in less than 11 intervals of 50 ms, however the
    // sink's accept times bunch up (the first one may wait for the connection).
    expect(elapsed).toBeGreaterThanOrEqual(11 * 50 * 0.95);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('retries a temporary 4xx with backoff, then is accepted', async () => {
    const s = sender({ maxAttempts: 4 });
    const to = 'greylisted@example.org';
    sink.failRecipient(to, 451, 2);
    const result = await s.send(email(to));
    expect(result).toMatchObject({ accepted: true, attempts: 3 });
    expect(rcptCount(to)).toBe(3);
    expect(sink.countFor(to)).toBe(1);
  });

  it('does not retry a permanent 5xx', async () => {
    const s = sender({ maxAttempts: 4 });
    const to = 'nobody@example.org';
    sink.failRecipient(to, 550);
    const result = await s.send(email(to));
    expect(result).toMatchObject({ accepted: false, smtpCode: 550, attempts: 1 });
    expect(result.response).toMatch(/^550/);
    expect(rcptCount(to)).toBe(1);
    expect(sink.countFor(to)).toBe(0);
  });

  it('gives up on a 4xx after maxAttempts and reports the last answer', async () => {
    const s = sender({ maxAttempts: 3 });
    const to = 'full-mailbox@example.org';
    sink.failRecipient(to, 452);
    const result = await s.send(email(to));
    expect(result).toMatchObject({ accepted: false, smtpCode: 452, attempts: 3 });
    expect(rcptCount(to)).toBe(3);
  });

  it('opens the circuit on an outage, fails fast while open, half-opens after the cool-down', async () => {
    let now = 1_000_000;
    const s = sender({ maxAttempts: 1, circuit: { failureThreshold: 3, windowMs: 60_000, coolDownMs: 30_000, now: () => now } });
    await s.verify();
    await s.send(email('before-outage@example.org'));
    await sink.down();
    await sleep(100);
    try {
      for (let i = 0; i < 3; i++) await expect(s.send(email(`outage-${i}@example.org`))).rejects.toBeInstanceOf(ProviderUnavailableError);
      expect(s.circuitState).toBe('open');
      const fastStart = performance.now();
      await expect(s.send(email('while-open@example.org'))).rejects.toBeInstanceOf(CircuitOpenError);
      expect(performance.now() - fastStart).toBeLessThan(50);

      now += 30_000;
      expect(s.circuitState).toBe('half_open');
      // The probe fails while the provider is still down: open again for another cool-down.
      await expect(s.send(email('probe-1@example.org'))).rejects.toBeInstanceOf(ProviderUnavailableError);
      expect(s.circuitState).toBe('open');
      await expect(s.send(email('still-open@example.org'))).rejects.toBeInstanceOf(CircuitOpenError);
    } finally {
      await sink.up();
    }
    now += 30_000;
    expect(s.circuitState).toBe('half_open');
    const probe = await s.send(email('probe-2@example.org'));
    expect(probe.accepted).toBe(true);
    expect(s.circuitState).toBe('closed');
    expect(sink.countFor('while-open@example.org') + sink.countFor('still-open@example.org')).toBe(0);
  });

  it('verify() fails with ProviderUnavailableError when nothing listens', async () => {
    const s = createSmtpSender({ smtpUrl: `smtp://127.0.0.1:${await freePort()}`, logger: silentLogger });
    senders.push(s);
    await expect(s.verify()).rejects.toBeInstanceOf(ProviderUnavailableError);
  });
});

describe('classifySmtpError', () => {
  const err = (props: Record<string, unknown>) => Object.assign(new Error('x'), props);
  it.each([
    [{ responseCode: 550, response: '550 no' }, 'rejected', true],
    [{ responseCode: 451, response: '451 later' }, 'rejected', false],
    [{ responseCode: 503, response: '503 bad sequence' }, 'rejected', false],
    [{ responseCode: 421, response: '421 closing' }, 'unavailable', undefined],
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, 'unavailable', undefined],
    [{ code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT' }, 'unavailable', undefined],
    [{ code: 'EAUTH' }, 'unavailable', undefined],
    [{ code: 'ECONNECTION' }, 'unknown', undefined],
    [{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT' }, 'unknown', undefined],
    [{ code: 'EENVELOPE' }, 'rejected', true],
  ])('%j → %s', (props, kind, permanent) => {
    const failure = classifySmtpError(err(props));
    expect(failure.kind).toBe(kind);
    if (failure.kind === 'rejected') expect(failure.permanent).toBe(permanent);
  });
});
