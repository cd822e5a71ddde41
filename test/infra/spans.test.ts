import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { activeTraceparent, linkTo, spanContextOf, traceLogFields, tracingEnabled, withBatchSpan, withSpan } from '../../src/infra/spans.js';

describe('span helpers', () => {
  it('parse W3C traceparents and ignore anything malformed, all-zero or not a string', () => {
    expect(spanContextOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
    for (const bad of [undefined, null, '', 'garbage', '00-00000000000000000000000000000000-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', 42, { a: 1 }]) {
      expect(spanContextOf(bad as string), String(bad)).toBeUndefined();
    }
    expect(linkTo('nope')).toBeUndefined();
  });

  it('cost nothing and change nothing while tracing is off', async () => {
    expect(tracingEnabled()).toBe(false);
    await expect(withSpan('x', {}, async (span) => span)).resolves.toBeUndefined();
    await expect(withBatchSpan('x', {}, [{ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', correlationId: 'c' }], async (span) => span)).resolves.toBeUndefined();
    expect(activeTraceparent()).toBeUndefined();
    // pino merges a line's fields into what the mixin returns: it must be a fresh object every time.
    expect(traceLogFields()).not.toBe(traceLogFields());
    const lines: string[] = [];
    const logger = pino({ mixin: traceLogFields }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    logger.info({ correlationId: 'a' }, 'one');
    logger.info({ other: 'b' }, 'two');
    expect(JSON.parse(lines[1]!)).not.toHaveProperty('correlationId');
  });
});
