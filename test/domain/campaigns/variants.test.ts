import { describe, expect, it } from 'vitest';
import type { CampaignVariants } from '../../../src/domain/campaigns/events.js';
import { canonicalTimeZone, resolveSendTime } from '../../../src/domain/campaigns/time.js';
import { abTest, created, LATER, validationErrorOf } from './fixtures.js';

const define = (definition: Partial<CampaignVariants>) =>
  validationErrorOf([created], { type: 'DefineCampaignVariants', data: { ...abTest, ...definition, at: LATER } });

const variant = (key: string, splitPercent: number) => ({ key, templateId: 't', templateVersion: 1, subject: null, splitPercent });

describe('A/B variants', () => {
  it('splits must sum to 100', () => {
    const error = define({ variants: [variant('A', 50), variant('B', 40)] });
    expect([error.field, error.message]).toEqual(['input.variants', expect.stringMatching(/sum to 100, got 90/)]);
  });

  it('2 to 5 variants', () => {
    expect(define({ variants: [variant('A', 100)] }).message).toMatch(/2 to 5 variants, got 1/);
    expect(define({ variants: ['A', 'B', 'C', 'D', 'E', 'F'].map((k, i) => variant(k, i === 0 ? 50 : 10)) }).message).toMatch(/got 6/);
  });

  it('keys are unique and well-formed; splits and the sample are whole percentages', () => {
    expect(define({ variants: [variant('A', 50), variant('A', 50)] }).message).toMatch(/A appears twice/);
    expect(define({ variants: [variant('A', 50), variant('B b', 50)] }).field).toBe('input.variants[1].key');
    expect(define({ variants: [variant('A', 0), variant('B', 100)] }).field).toBe('input.variants[0].splitPercent');
    expect(define({ variants: [variant('A', 49.5), variant('B', 50.5)] }).field).toBe('input.variants[0].splitPercent');
    expect(define({ testSamplePercent: 0 }).field).toBe('input.testSamplePercent');
    expect(define({ testSamplePercent: 101 }).field).toBe('input.testSamplePercent');
  });

  it('winner settings', () => {
    expect(define({ winnerMetric: 'revenue' as never }).field).toBe('input.winnerMetric');
    expect(define({ winnerAfterHours: 0 }).field).toBe('input.winnerAfterHours');
    expect(define({ winnerAfterHours: 1.5 }).field).toBe('input.winnerAfterHours');
  });
});

describe('send times', () => {
  it('IANA zones are canonicalized; anything else is unknown', () => {
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Base')).toBeNull();
    expect(canonicalTimeZone('+01:00')).toBeNull();
    expect(canonicalTimeZone('')).toBeNull();
  });

  it('a wall-clock time is read in the zone, across daylight saving', () => {
    expect(resolveSendTime('2025-01-15T09:00', 'Europe/Berlin')?.toISOString()).toBe('2025-01-15T08:00:00.000Z');
    expect(resolveSendTime('2025-07-15T09:00', 'Europe/Berlin')?.toISOString()).toBe('2025-07-15T07:00:00.000Z');
    expect(resolveSendTime('2025-07-15T09:00:30.5', 'Asia/Kolkata')?.toISOString()).toBe('2025-07-15T03:30:30.500Z');
    expect(resolveSendTime('2025-07-15T09:00:00-04:00', 'Europe/Berlin')?.toISOString()).toBe('2025-07-15T13:00:00.000Z');
  });

  it('invalid dates are refused', () => {
    expect(resolveSendTime('2025-02-29T09:00', 'UTC')).toBeNull();
    expect(resolveSendTime('2025-01-01T24:30', 'UTC')).toBeNull();
    expect(resolveSendTime('next tuesday', 'UTC')).toBeNull();
  });
});
