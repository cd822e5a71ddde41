import { describe, expect, it } from 'vitest';
import { ApiError, ERROR_CODES, forbidden, mapError, notFound, unauthenticated, ValidationError } from '../../src/api/errors.js';
import { can } from '../../src/api/iam/permissions.js';
import { EventStoreUnavailableError, InvalidAppendError, WrongExpectedRevisionError } from '../../src/eventstore/errors.js';

describe('mapError', () => {
  it('maps the API’s own errors by class', () => {
    expect(mapError(unauthenticated())).toMatchObject({ code: 'UNAUTHENTICATED', httpStatus: 401, retryable: false });
    expect(mapError(forbidden('no'))).toEqual({ code: 'FORBIDDEN', httpStatus: 403, message: 'no', retryable: false });
    expect(mapError(notFound('API key'))).toEqual({ code: 'NOT_FOUND', httpStatus: 404, message: 'API key not found.', retryable: false });
    expect(mapError(new ValidationError('input.name', 'name must not be empty.'))).toEqual({
      code: 'BAD_USER_INPUT',
      httpStatus: 400,
      message: 'name must not be empty.',
      retryable: false,
      details: { field: 'input.name' },
    });
  });

  it('maps event store errors by their stable code', () => {
    expect(mapError(new WrongExpectedRevisionError('campaign-1', 3, 4))).toMatchObject({
      code: 'WRONG_EXPECTED_REVISION',
      httpStatus: 409,
      retryable: true,
      details: { streamId: 'campaign-1', expected: '3', actual: '4' },
    });
    expect(mapError(new InvalidAppendError('type must not be empty', 'events[0].type'))).toMatchObject({
      code: 'INVALID_EVENT',
      httpStatus: 400,
      retryable: false,
      details: { field: 'events[0].type' },
    });
  });

  it('hides the cause of an unavailable event store', () => {
    const mapped = mapError(new EventStoreUnavailableError('connect ECONNREFUSED 10.0.0.7:5432'));
    expect(mapped).toMatchObject({ code: 'EVENT_STORE_UNAVAILABLE', httpStatus: 503, retryable: true });
    expect(mapped.message).not.toContain('10.0.0.7');
  });

  it('maps a domain error that carries a known code, whatever its class', () => {
    class CampaignNotFound extends Error {
      readonly code = 'NOT_FOUND';
    }
    expect(mapError(new CampaignNotFound('Campaign 42 not found.'))).toEqual({
      code: 'NOT_FOUND',
      httpStatus: 404,
      message: 'Campaign 42 not found.',
      retryable: false,
    });
  });

  it('maps fastify request errors to client errors', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(mapError(tooLarge)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 });
    const badJson = Object.assign(new Error('Body is not valid JSON'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 });
    expect(mapError(badJson)).toMatchObject({ code: 'BAD_USER_INPUT', httpStatus: 400 });
  });

  it.each([
    ['a plain Error', new Error('password=hunter2 at db.internal:5432')],
    ['an error with a foreign code', Object.assign(new Error('duplicate key value violates unique constraint "secret_idx"'), { code: '23505' })],
    ['an error claiming INTERNAL', Object.assign(new Error('internal detail'), { code: 'INTERNAL' })],
    ['a fastify 5xx error', Object.assign(new Error('plugin crashed: internal detail'), { code: 'FST_ERR_X', statusCode: 500 })],
    ['a thrown string', 'internal detail'],
    ['undefined', undefined],
  ])('maps %s to INTERNAL without leaking its message', (_label, error) => {
    const mapped = mapError(error);
    expect(mapped).toEqual({ code: 'INTERNAL', httpStatus: 500, message: 'Internal server error.', retryable: false });
  });

  it('gives every code in the table a status of its own class', () => {
    for (const [code, rule] of Object.entries(ERROR_CODES)) {
      expect(rule.httpStatus, code).toBeGreaterThanOrEqual(400);
      if (!['INTERNAL', 'EVENT_STORE_UNAVAILABLE', 'READ_MODEL_BEHIND'].includes(code)) expect(rule.httpStatus, code).toBeLessThan(500);
    }
    expect(new ApiError('FORBIDDEN', 'x').httpStatus).toBe(403);
  });
});

describe('permissions', () => {
  it.each([
    ['admin', 'read', true],
    ['admin', 'write', true],
    ['admin', 'admin', true],
    ['marketer', 'read', true],
    ['marketer', 'write', true],
    ['marketer', 'admin', false],
    ['auditor', 'read', true],
    ['auditor', 'write', false],
    ['auditor', 'admin', false],
    ['service', 'read', true],
    ['service', 'write', true],
    ['service', 'admin', false],
  ] as const)('%s may %s: %s', (role, action, allowed) => {
    expect(can(role, action)).toBe(allowed);
  });
});
