import { describe, expect, it } from 'vitest';
import { errorBodies } from './index';

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
