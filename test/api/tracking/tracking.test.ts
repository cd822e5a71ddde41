import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { trackingPlugin } from '../../../src/api/http/tracking.js';
import { TRANSPARENT_GIF } from '../../../src/api/http/trackingPages.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { emailStreamId } from '../../../src/domain/deliveries/events.js';
import { loadConfig } from '../../../src/infra/config.js';
import { DeliveryLedger } from '../../../src/sagas/delivery/ledger.js';
import { signTrackingToken, trackingLinks, type TrackingPayload } from '../../../src/sagas/delivery/trackingTokens.js';
import { useApiTestEnv } from '../support.js';
import { httpTestApp } from './testApp.js';
import { world } from './world.js';

const SECRET = 'tracking-test-secret-0123456789abcdefgh';
const env = await useApiTestEnv('tracking');
const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: env.url, LOG_LEVEL: 'silent', TRACKING_SECRET: SECRET });
const w = world(env.eventStore, new DeliveryLedger(env.db));
const workspaceId = `ws-${randomUUID().slice(0, 8)}`;
let app: FastifyInstance;
let campaignId: string;
let alice: { contactId: string; email: string };
let bob: { contactId: string; email: string };

beforeAll(async () => {
  app = await httpTestApp({ ...env.deps, config }, trackingPlugin);
  campaignId = await w.campaign(workspaceId, 'newsletter');
  alice = await w.contact(workspaceId, ['newsletter', 'product']);
  bob = await w.contact(workspaceId, ['newsletter']);
  await w.sent(workspaceId, campaignId, alice);
  await w.sent(workspaceId, campaignId, bob);
});
afterAll(() => app.close());

const linksFor = (contactId: string, campaign = campaignId, ws = workspaceId) =>
  trackingLinks(SECRET, 'http://localhost', { workspaceId: ws, campaignId: campaign, variantKey: 'A', contactId });
const pathOf = (url: string) => new URL(url).pathname;
const emailEvents = (contactId: string, campaign = campaignId) => w.events(emailStreamId(campaign, contactId));
const contactEvents = (contactId: string) => w.events(contactStreamId(contactId));
const tokenOf = (url: string) => pathOf(url).split('/').at(-1)!;

describe('open and click tracking', () => {
  it('GET /t/o/:token answers a transparent GIF and records one EmailOpened per request', async () => {
    const url = pathOf(linksFor(alice.contactId).openPixel);
    const first = await app.inject({ method: 'GET', url, headers: { 'x-correlation-id': 'open-1' } });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('image/gif');
    expect(first.rawPayload.equals(TRANSPARENT_GIF)).toBe(true);
    await app.inject({ method: 'GET', url });
    const opens = (await emailEvents(alice.contactId)).filter((e) => e.type === 'EmailOpened');
    expect(opens).toHaveLength(2);
    expect(opens[0]).toMatchObject({
      data: { campaignId, variantKey: 'A', contactId: alice.contactId },
      metadata: { correlationId: 'open-1', workspaceId, actor: `recipient:${alice.contactId}` },
    });
  });

  it('GET /t/c/:token redirects to the signed URL only, and records EmailClicked', async () => {
    const target = 'https://shop.example.com/spring?utm=mail&x=1';
    const url = pathOf(linksFor(bob.contactId).click(target));
    const response = await app.inject({ method: 'GET', url: `${url}?url=https://evil.example.net/&redirect=https://evil.example.net/` });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe(target);
    const clicks = (await emailEvents(bob.contactId)).filter((e) => e.type === 'EmailClicked');
    expect(clicks.map((e) => e.data)).toEqual([expect.objectContaining({ url: target, contactId: bob.contactId })]);
  });

  it('only http(s) URLs are signed: other links stay as they are, javascript: cannot be signed', () => {
    const links = linksFor(bob.contactId);
    expect(links.click('mailto:help@example.com')).toBe('mailto:help@example.com');
    expect(() => signTrackingToken(SECRET, { k: 'c', c: campaignId, v: 'A', r: bob.contactId, w: workspaceId, u: 'javascript:alert(1)' })).toThrow();
  });
});

describe('tokens that must not work answer 404 and record nothing', () => {
  const forge = (payload: object, secret = SECRET) => {
    const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${encoded}.${createHmac('sha256', secret).update(`mkt-track-v1.${encoded}`).digest('base64url')}`;
  };

  it('forged, altered, foreign-format and wrong-kind tokens', async () => {
    const genuine = tokenOf(linksFor(alice.contactId).openPixel);
    const [payloadPart, mac] = genuine.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString()) as TrackingPayload;
    const altered = `${Buffer.from(JSON.stringify({ ...payload, r: bob.contactId })).toString('base64url')}.${mac}`;
    const flipped = `${payloadPart}.${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
    const otherSecret = forge(payload, 'another-secret-0123456789abcdefghijkl');
    const oldFormat = `v0.${payloadPart}.${mac}`;
    const unsigned = payloadPart;
    const extraField = forge({ ...payload, x: 1 });
    const before = (await emailEvents(alice.contactId)).length;
    for (const token of [altered, flipped, otherSecret, oldFormat, unsigned, extraField, 'garbage', 'a'.repeat(5000)]) {
      const response = await app.inject({ method: 'GET', url: `/t/o/${token}` });
      expect(response.statusCode, token.slice(0, 40)).toBe(404);
      expect(response.json().error.code).toBe('NOT_FOUND');
    }
    // A genuine open token is not a click or unsubscribe token.
    expect((await app.inject({ method: 'GET', url: `/t/c/${genuine}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: `/t/u/${genuine}`, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode).toBe(404);
    expect(await emailEvents(alice.contactId)).toHaveLength(before);
    expect((await emailEvents(bob.contactId)).filter((e) => e.type === 'EmailOpened')).toHaveLength(0);
  });

  it('a genuine token for an email that was never sent (or only failed), or for another workspace', async () => {
    const stranger = await w.contact(workspaceId);
    const failed = await w.contact(workspaceId);
    await w.sent(workspaceId, campaignId, failed, 'failed');
    for (const contactId of [stranger.contactId, failed.contactId]) {
      expect((await app.inject({ method: 'GET', url: pathOf(linksFor(contactId).openPixel) })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: pathOf(linksFor(contactId).unsubscribe) })).statusCode).toBe(404);
    }
    expect(await emailEvents(stranger.contactId)).toHaveLength(0);
    expect((await emailEvents(failed.contactId)).map((e) => e.type)).toEqual(['EmailFailed']);
    const foreign = linksFor(alice.contactId, campaignId, 'ws-someone-else').openPixel;
    expect((await app.inject({ method: 'GET', url: pathOf(foreign) })).statusCode).toBe(404);
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  it('GET shows a confirmation form and changes nothing', async () => {
    const before = (await contactEvents(alice.contactId)).length;
    const response = await app.inject({ method: 'GET', url: pathOf(linksFor(alice.contactId).unsubscribe) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('<form method="post">');
    expect(response.body).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(await contactEvents(alice.contactId)).toHaveLength(before);
  });

  it('POST without the one-click body is refused and records nothing', async () => {
    const before = (await contactEvents(alice.contactId)).length;
    const response = await app.inject({ method: 'POST', url: pathOf(linksFor(alice.contactId).unsubscribe), payload: 'foo=bar', headers: form });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'List-Unsubscribe' } });
    expect(await contactEvents(alice.contactId)).toHaveLength(before);
  });

  it('POST unsubscribes exactly the token’s contact from the campaign’s topic, once', async () => {
    const url = pathOf(linksFor(alice.contactId).unsubscribe);
    const bobBefore = await contactEvents(bob.contactId);
    const response = await app.inject({ method: 'POST', url, payload: 'List-Unsubscribe=One-Click', headers: { ...form, 'x-correlation-id': 'unsub-1' } });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('You are unsubscribed');
    const unsubscribed = (await contactEvents(alice.contactId)).filter((e) => e.type === 'ContactUnsubscribed');
    expect(unsubscribed).toHaveLength(1);
    expect(unsubscribed[0]).toMatchObject({
      data: { topic: 'newsletter', source: `one-click:${campaignId}`, reason: null },
      metadata: { correlationId: 'unsub-1', workspaceId, actor: `recipient:${alice.contactId}` },
    });
    expect(await contactEvents(bob.contactId)).toEqual(bobBefore);
    // A repeated POST (mail clients retry) decides nothing.
    expect((await app.inject({ method: 'POST', url, payload: 'List-Unsubscribe=One-Click', headers: form })).statusCode).toBe(200);
    expect((await contactEvents(alice.contactId)).filter((e) => e.type === 'ContactUnsubscribed')).toHaveLength(1);
  });

  it('accepts the multipart/form-data body RFC 8058 recommends', async () => {
    const boundary = '----mkt1234';
    const payload = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const response = await app.inject({ method: 'POST', url: pathOf(linksFor(bob.contactId).unsubscribe), payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(response.statusCode).toBe(200);
    expect((await contactEvents(bob.contactId)).filter((e) => e.type === 'ContactUnsubscribed').map((e) => e.data)).toEqual([expect.objectContaining({ topic: 'newsletter' })]);
  });

  it('a campaign without a topic unsubscribes from every subscribed topic', async () => {
    const anyConsent = await w.campaign(workspaceId, null);
    const carol = await w.contact(workspaceId, ['newsletter', 'events']);
    await w.sent(workspaceId, anyConsent, carol);
    const response = await app.inject({ method: 'POST', url: pathOf(linksFor(carol.contactId, anyConsent).unsubscribe), payload: 'List-Unsubscribe=One-Click', headers: form });
    expect(response.statusCode).toBe(200);
    const topics = (await contactEvents(carol.contactId)).filter((e) => e.type === 'ContactUnsubscribed').map((e) => (e.data as { topic: string }).topic);
    expect(topics.sort()).toEqual(['events', 'newsletter']);
  });
});
