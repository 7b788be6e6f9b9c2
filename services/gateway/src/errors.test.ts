import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, GatewayError, errorBody } from './errors';

describe('error catalogue', () => {
  it('gives every code an HTTP status and a message', () => {
    expect(ERROR_CATALOGUE).toMatchObject({
      INVALID_SCOPE: { status: 400 },
      NOT_FOUND: { status: 404 },
      NOT_READY: { status: 503 },
      INTERNAL: { status: 500 },
      TOO_MANY_SUBSCRIPTIONS: { status: 429 },
      FRAME_TOO_LARGE: { status: 413 },
      INVALID_CAMPAIGN: { status: 400 },
      CONFLICT: { status: 409 },
      FORBIDDEN: { status: 403 },
      READ_ONLY: { status: 400 },
      SQL_TIMEOUT: { status: 408 },
      SQL_LIMIT: { status: 400 },
      UNAVAILABLE: { status: 503 },
    });
    for (const entry of Object.values(ERROR_CATALOGUE)) expect(entry.message.length).toBeGreaterThan(5);
  });

  it('makes errors and bodies from codes', () => {
    const err = new GatewayError('INVALID_SCOPE', 'scope "x" is bad');
    expect([err.code, err.status, err.message]).toEqual(['INVALID_SCOPE', 400, 'scope "x" is bad']);
    expect(new GatewayError('NOT_READY').message).toBe(ERROR_CATALOGUE.NOT_READY.message);
    expect(errorBody('NOT_FOUND')).toEqual({
      error: { code: 'NOT_FOUND', message: ERROR_CATALOGUE.NOT_FOUND.message },
    });
    expect(errorBody('INVALID_CAMPAIGN', 'bad', [{ field: 'id', message: 'x' }])).toEqual({
      error: { code: 'INVALID_CAMPAIGN', message: 'bad', details: [{ field: 'id', message: 'x' }] },
    });
    expect(new GatewayError('SQL_LIMIT', 'rows', { clickhouseCode: 396 }).details).toEqual({ clickhouseCode: 396 });
  });
});
