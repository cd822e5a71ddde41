import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../../../src/sagas/delivery/circuitBreaker.js';
import { backoffDelay } from '../../../src/sagas/delivery/flowControl.js';
import { idempotencyKeyOf, messageIdFor, normalizeMessageId, senderDomainOf } from '../../../src/sagas/delivery/identifiers.js';
import { signTrackingToken, trackingLinks, verifyTrackingToken } from '../../../src/sagas/delivery/trackingTokens.js';

const SECRET = 'unit-secret-0123456789abcdefghijklmnop';
const base = { c: '0b8c7f4e-1f7a-4a55-9d8a-1d2e3f4a5b6c', v: 'B', r: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d', w: 'ws-1' };

describe('tracking tokens', () => {
  it('round-trips and binds the kind', () => {
    const token = signTrackingToken(SECRET, { k: 'u', ...base });
    expect(verifyTrackingToken(SECRET, token, 'u')).toEqual({ k: 'u', ...base });
    expect(verifyTrackingToken(SECRET, token, 'o')).toBeNull();
    expect(verifyTrackingToken(`${SECRET}x`, token, 'u')).toBeNull();
  });

  it('click tokens carry exactly one http(s) URL; other tokens none', () => {
    expect(() => signTrackingToken(SECRET, { k: 'c', ...base })).toThrow();
    expect(() => signTrackingToken(SECRET, { k: 'o', ...base, u: 'https://x.example' })).toThrow();
    expect(() => signTrackingToken(SECRET, { k: 'c', ...base, u: 'https://user:pw@x.example' })).toThrow();
    expect(() => signTrackingToken(SECRET, { k: 'c', ...base, u: 'data:text/html,hi' })).toThrow();
    const links = trackingLinks(SECRET, 'https://t.example.com/', { workspaceId: base.w, campaignId: base.c, variantKey: base.v, contactId: base.r });
    const click = links.click('https://shop.example.com/a?b=c');
    expect(click.startsWith('https://t.example.com/t/c/')).toBe(true);
    expect(verifyTrackingToken(SECRET, click.split('/').at(-1)!, 'c')?.u).toBe('https://shop.example.com/a?b=c');
  });

  it('refuses ids that could not be part of a stream id', () => {
    expect(() => signTrackingToken(SECRET, { k: 'o', ...base, r: 'a_b' })).toThrow();
    expect(() => signTrackingToken(SECRET, { k: 'o', ...base, c: 'x.y' })).toThrow();
  });
});

describe('identifiers', () => {
  it('derives keys and Message-IDs deterministically', () => {
    expect(idempotencyKeyOf('c', 'A', 'r')).toBe('c:A:r');
    expect(messageIdFor('c', 'A', 'r', senderDomainOf('news@Mail.Example.com'))).toBe('c.A.r@mail.example.com');
    expect(normalizeMessageId(' <c.A.r@mail.example.com> ')).toBe('c.A.r@mail.example.com');
    expect(() => senderDomainOf('no-domain')).toThrow();
  });
});

describe('circuit breaker', () => {
  it('opens only on N consecutive failures within the window', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, windowMs: 1_000, coolDownMs: 5_000, now: () => now });
    breaker.onProviderFailure();
    now = 600;
    breaker.onProviderFailure();
    now = 1_200; // the first failure is now outside the window: counting restarts
    breaker.onProviderFailure();
    expect(breaker.current).toBe('closed');
    breaker.onProviderFailure();
    breaker.onSuccess(); // a success resets
    breaker.onProviderFailure();
    breaker.onProviderFailure();
    expect(breaker.current).toBe('closed');
    breaker.onProviderFailure();
    expect(breaker.current).toBe('open');
    expect(() => breaker.beforeCall()).toThrow(CircuitOpenError);
    now += 5_000;
    breaker.beforeCall(); // the one probe
    expect(() => breaker.beforeCall()).toThrow(CircuitOpenError); // others still fail fast
    breaker.onSuccess();
    expect(breaker.current).toBe('closed');
  });

  it('backoff grows exponentially with jitter, capped', () => {
    expect(backoffDelay(1, 100, 1_000, () => 0)).toBe(50);
    expect(backoffDelay(3, 100, 1_000, () => 1)).toBe(400);
    expect(backoffDelay(10, 100, 1_000, () => 1)).toBe(1_000);
  });
});
