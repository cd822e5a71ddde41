import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/infra/config.js';
import { isStorableText } from '../../src/api/storableText.js';
import { DeliveryLedger } from '../../src/sagas/delivery/ledger.js';
import { trackingLinks } from '../../src/sagas/delivery/trackingTokens.js';
import { seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { world } from '../api/tracking/world.js';
import { eventCount, expectNoLeak, expectTypedCode, fuzzParams, junk, nastyString } from './support.js';

/**
 * The public tracking links and the bounce webhook under random and mutated input: never a 5xx, a typed error
 * code on every refusal, and nothing recorded for a forged token or a malformed report.
 */

const SECRET = 'fuzz-tracking-secret-0123456789abcdefghij';
const env = await useApiTestEnv('fuzz_http');
const w = world(env.eventStore, new DeliveryLedger(env.db));
let app: FastifyInstance;
let ws: SeededWorkspace;
let genuine: ReturnType<typeof trackingLinks>;
let messageId: string;

beforeAll(async () => {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: env.url, LOG_LEVEL: 'silent', TRACKING_SECRET: SECRET, RATE_LIMIT: 'off' });
  app = await buildServer({ ...env.deps, config });
  ws = await seedWorkspace(env.db);
  const campaignId = await w.campaign(ws.workspaceId, 'newsletter');
  const contact = await w.contact(ws.workspaceId);
  messageId = await w.sent(ws.workspaceId, campaignId, contact);
  genuine = trackingLinks(SECRET, 'http://localhost', { workspaceId: ws.workspaceId, campaignId, variantKey: 'A', contactId: contact.contactId });
});
afterAll(() => app.close());

const unmatchedCount = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM unmatched_bounces`.execute(env.db)).rows[0]!.n);
const tokenOf = (url: string) => new URL(url).pathname.split('/').at(-1)!;

/** A genuine token, changed a little: one character replaced, cut, extended, a part swapped or re-encoded. */
const mutatedToken = (tokens: () => string[]): fc.Arbitrary<string> =>
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('A', '_', '-', '.', '=', '%2F', '%00', 'é', '/'), fc.nat({ max: 5 })).map(([pick, at, char, how]) => {
    const all = tokens();
    const token = all[pick % all.length]!;
    const i = at % token.length;
    const [payload, mac] = token.split('.') as [string, string];
    switch (how) {
      case 0:
        return token.slice(0, i) + char + token.slice(i + 1);
      case 1:
        return token.slice(0, i);
      case 2:
        return token + char;
      case 3:
        return `${payload}.${all[(pick + 1) % all.length]!.split('.')[1]}`;
      case 4:
        return `${Buffer.from(Buffer.from(payload, 'base64url').toString('utf8').replace(/"k":"."/, '"k":"c"')).toString('base64url')}.${mac}`;
      default:
        return `${payload}.${mac}.${payload}`;
    }
  });

describe('tracking links', () => {
  const tokens = () => [genuine.openPixel, genuine.unsubscribe, genuine.click('https://shop.example.com/a')].map(tokenOf);
  const encode = (text: string) => (isStorableText(text) ? encodeURIComponent(text) : escape(text));
  const anyToken = fc.oneof(mutatedToken(tokens), nastyString.map(encode), fc.string({ unit: 'binary', maxLength: 300 }).map(encode));

  it('a random or altered token is a 4xx with a typed code and records nothing', async () => {
    const genuineSet = new Set(tokens());
    await fc.assert(
      fc.asyncProperty(anyToken, fc.constantFrom('o', 'c', 'u'), fc.constantFrom('GET', 'POST'), async (token, kind, method) => {
        fc.pre(!genuineSet.has(token));
        const before = await eventCount(env.db);
        const response = await app.inject({ method, url: `/t/${kind}/${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: method === 'POST' ? 'List-Unsubscribe=One-Click' : undefined });
        const context = `${method} /t/${kind}/${token}`;
        expect(response.statusCode, `${context}: ${response.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, context).toBeLessThan(500);
        expectNoLeak(response.body, context);
        expectTypedCode(response.json().error.code, context);
        expect(await eventCount(env.db), `${context} recorded an event`).toBe(before);
      }),
      fuzzParams(200),
    );
  });

  it('a genuine unsubscribe token with a random body changes nothing unless the body is the one-click form', async () => {
    const path = new URL(genuine.unsubscribe).pathname;
    const body = fc.oneof(nastyString, fc.string({ unit: 'binary', maxLength: 200 }), fc.constant('List-Unsubscribe=One-Clic'), fc.constant('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nOne-Click\r\n--b--'));
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'text/plain', 'application/json'), async (payload, contentType) => {
        fc.pre(!/List-Unsubscribe"?\s*(=|\r?\n)/i.test(payload));
        const before = await eventCount(env.db);
        const response = await app.inject({ method: 'POST', url: path, headers: { 'content-type': contentType }, payload });
        expect(response.statusCode, response.body.slice(0, 300)).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expectTypedCode(response.json().error.code, payload);
        expect(await eventCount(env.db)).toBe(before);
      }),
      fuzzParams(100),
    );
  });

  // Regression (found by this fuzzer): a URL fastify cannot decode (`%uD800`) was answered with fastify's own
  // body, without a typed code.
  it('an undecodable URL is BAD_USER_INPUT in the usual error shape', async () => {
    const response = await app.inject({ method: 'GET', url: '/t/o/%uD800Z' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'BAD_USER_INPUT', retryable: false });
  });

  it('the genuine links still work (the property is not vacuous)', async () => {
    const before = await eventCount(env.db);
    expect((await app.inject({ method: 'GET', url: new URL(genuine.openPixel).pathname })).statusCode).toBe(200);
    expect(await eventCount(env.db)).toBe(before + 1);
  });
});

describe('bounce webhook', () => {
  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/webhooks/bounces', headers: { authorization: `Bearer ${ws.keys.service.key}`, 'content-type': contentType }, payload });

  /** Generic and SES reports with hostile leaves, and plain junk. */
  const report = fc.oneof(
    fc.record({ messageId: fc.oneof(nastyString, fc.constant(`<${randomUUID()}@x>`)), type: fc.oneof(fc.constantFrom('bounce', 'complaint'), junk), bounceType: fc.oneof(fc.constantFrom('hard', 'soft'), junk), reason: fc.oneof(nastyString, junk), at: fc.oneof(fc.constantFrom('2025-03-01T10:00:00Z', '2025-02-30T10:00:00Z', '9999-99-99T'), junk) }, { requiredKeys: [] }),
    fc.record({
      notificationType: fc.oneof(fc.constantFrom('Bounce', 'Complaint', 'Delivery'), junk),
      mail: fc.oneof(fc.record({ messageId: fc.oneof(nastyString, junk), commonHeaders: fc.oneof(fc.record({ messageId: fc.oneof(nastyString, junk) }), junk), headers: fc.oneof(fc.array(fc.record({ name: fc.constantFrom('Message-ID', 'x'), value: fc.oneof(nastyString, junk) })), junk), timestamp: junk }, { requiredKeys: [] }), junk),
      bounce: fc.oneof(fc.record({ bounceType: fc.oneof(fc.constantFrom('Permanent', 'Transient', 'Undetermined'), junk), bouncedRecipients: fc.oneof(fc.array(fc.record({ diagnosticCode: fc.oneof(nastyString, junk) })), junk), timestamp: junk }, { requiredKeys: [] }), junk),
      complaint: fc.oneof(fc.record({ complaintFeedbackType: fc.oneof(nastyString, junk), timestamp: junk }, { requiredKeys: [] }), junk),
    }, { requiredKeys: [] }),
    junk,
  );
  const body = fc.oneof(
    { arbitrary: report.map((r) => JSON.stringify(r) ?? 'null'), weight: 4 },
    { arbitrary: fc.array(report, { maxLength: 3 }).map((r) => JSON.stringify(r)), weight: 2 },
    { arbitrary: fc.tuple(report, fc.boolean()).map(([r, asText]) => JSON.stringify({ Type: 'Notification', Message: asText ? JSON.stringify(r) ?? 'null' : r })), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 1 },
  );

  it('a malformed report is a 4xx naming the field with nothing written; a well-formed one is 202', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'text/plain'), async (payload, contentType) => {
        const before = await eventCount(env.db);
        const unmatchedBefore = await unmatchedCount();
        const response = await post(payload, contentType);
        const context = `${contentType} ${payload.slice(0, 300)}`;
        expect(response.statusCode, `${context}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
        expectNoLeak(response.body, context);
        if (response.statusCode === 202) return;
        expect(response.statusCode, context).toBeGreaterThanOrEqual(400);
        expectTypedCode(response.json().error.code, context);
        expect(await eventCount(env.db), `${context}: refused but recorded events`).toBe(before);
        expect(await unmatchedCount(), `${context}: refused but recorded unmatched bounces`).toBe(unmatchedBefore);
      }),
      fuzzParams(250),
    );
  });

  // Regression (found by this fuzzer): a NUL or an unpaired surrogate anywhere in a report passed parsing and
  // failed in PostgreSQL (text and jsonb cannot hold them) with a 500.
  it('text PostgreSQL cannot store is refused naming the field, with nothing written', async () => {
    const cases: [unknown, string][] = [
      [{ messageId: 'a\u0000b@x', type: 'complaint' }, 'messageId'],
      [{ messageId: 'ab@x', type: 'complaint', note: 'z\ud800' }, 'note'],
      [[{ messageId: 'ab@x', type: 'complaint' }, { messageId: 'cd@x', type: 'bounce', bounceType: 'hard', reason: 'x', extra: { 'k\u0000': 1 } }], '[1].extra.k\u0000'],
      [{ Type: 'Notification', Message: JSON.stringify({ notificationType: 'Complaint', mail: { messageId: 'a\udfffb' }, complaint: {} }) }, 'Message.mail.messageId'],
    ];
    for (const [report, field] of cases) {
      const before = await eventCount(env.db);
      const unmatchedBefore = await unmatchedCount();
      const response = await post(JSON.stringify(report));
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field } });
      expect(await eventCount(env.db)).toBe(before);
      expect(await unmatchedCount()).toBe(unmatchedBefore);
    }
  });

  it('(the property is not vacuous: a well-formed report of ours is recorded)', async () => {
    const before = await eventCount(env.db);
    const response = await post(JSON.stringify({ messageId, type: 'bounce', bounceType: 'soft', at: '2025-03-01T10:00:00Z' }));
    expect(response.statusCode).toBe(202);
    expect(await eventCount(env.db)).toBe(before + 1);
  });
});
