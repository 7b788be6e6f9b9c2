import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ANY_ERROR_SCHEMA, errorBodies, errorSchemas, notFoundHandler } from './index';

const CATALOGUE = {
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  INVALID: { status: 400, message: 'Invalid.' },
};

describe('errorBodies', () => {
  const errorBody = errorBodies(CATALOGUE);

  it("uses the code's own message unless one is given", () => {
    expect(errorBody('NOT_FOUND')).toEqual({ error: { code: 'NOT_FOUND', message: 'No such resource.' } });
    expect(errorBody('NOT_FOUND', 'No route for GET /x.')).toEqual({
      error: { code: 'NOT_FOUND', message: 'No route for GET /x.' },
    });
  });

  it('nests details under error.details, and leaves the key out without them', () => {
    expect(errorBody('INVALID', 'bad', { indexes: [1, 2] })).toEqual({
      error: { code: 'INVALID', message: 'bad', details: { indexes: [1, 2] } },
    });
    expect(errorBody('INVALID', 'bad', [{ field: 'id' }]).error.details).toEqual([{ field: 'id' }]);
    expect('details' in errorBody('INVALID').error).toBe(false);
  });
});

describe('notFoundHandler', () => {
  it('answers 404 NOT_FOUND naming the method and path, not the query string', () => {
    const sent: unknown[] = [];
    const reply = { code: (status: number) => ({ send: (body: unknown) => sent.push(status, body) }) };
    const handle = notFoundHandler(errorBodies(CATALOGUE));
    handle({ method: 'GET', url: '/v1/nope?token=secret' }, reply);
    expect(sent).toEqual([404, { error: { code: 'NOT_FOUND', message: 'No route for GET /v1/nope.' } }]);
  });
});

describe('errorSchemas', () => {
  const { errorSchema, errorResponses } = errorSchemas(CATALOGUE);
  const ajv = new Ajv();

  it('describes the bodies errorBodies builds, with the codes of each status', () => {
    const errorBody = errorBodies(CATALOGUE);
    const validate = ajv.compile(errorSchema(['NOT_FOUND']));
    expect(validate(errorBody('NOT_FOUND'))).toBe(true);
    expect(validate(errorBody('NOT_FOUND', 'gone', { id: 'x' }))).toBe(true);
    expect(validate(errorBody('INVALID'))).toBe(false);
    expect(validate({ code: 'NOT_FOUND', message: 'flat' })).toBe(false);
    expect(ajv.compile(ANY_ERROR_SCHEMA)(errorBody('INVALID'))).toBe(true);
    expect(errorSchema(['NOT_FOUND', 'INVALID']).description).toBe('NOT_FOUND: No such resource. INVALID: Invalid.');
  });

  it('groups the codes of a route by their status', () => {
    expect(Object.keys(errorResponses('NOT_FOUND', 'INVALID'))).toEqual(['400', '404']);
    expect(errorResponses('INVALID')[400]).toEqual(errorSchema(['INVALID']));
  });
});
