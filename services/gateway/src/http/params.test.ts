import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors';
import { checkRange, parseInstant, parseRange, subjectFromScope } from './params';

const T = Date.parse('2024-08-23T00:00:00+08:00');
const DAY = 86_400_000;

function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected an error');
}

describe('parseInstant', () => {
  it('takes ms since epoch and ISO-8601 with an offset', () => {
    expect(parseInstant('from', String(T))).toBe(T);
    expect(parseInstant('from', '2024-08-23T00:00:00+08:00')).toBe(T);
    expect(parseInstant('from', '2024-08-22T16:00:00Z')).toBe(T);
    expect(parseInstant('from', '2024-08-23T00:00+0800')).toBe(T);
    expect(parseInstant('from', '2024-08-22T16:00:00.000Z')).toBe(T);
  });

  it.each([
    ['2024-08-23T00:00:00', 'zone offset'],
    ['2024-08-23', 'zone offset'],
    ['yesterday', 'zone offset'],
    ['2024-13-45T00:00:00Z', 'between 2000 and 2100'],
    ['86400000', 'between 2000 and 2100'],
    [String(T + 30_000), 'whole minute'],
    ['2024-08-23T00:00:30+08:00', 'whole minute'],
  ])('rejects %s', (raw, hint) => {
    const err = errorOf(() => parseInstant('from', raw));
    expect([err.code, err.status]).toEqual(['INVALID_RANGE', 400]);
    expect(err.message).toContain(hint);
  });
});

describe('ranges', () => {
  it('needs to after from and caps each granularity', () => {
    expect(parseRange({ from: String(T), to: String(T + DAY) })).toEqual({ from: T, to: T + DAY });
    expect(errorOf(() => checkRange(T, T)).message).toContain('after from');
    expect(checkRange(T, T + 7 * DAY, 'minute')).toEqual({ from: T, to: T + 7 * DAY });
    expect(errorOf(() => checkRange(T, T + 7 * DAY + 60_000, 'minute')).message).toContain(
      'a minute series covers at most 7 days',
    );
    expect(checkRange(T, T + 400 * DAY, 'hour').to).toBe(T + 400 * DAY);
    expect(errorOf(() => checkRange(T, T + 401 * DAY, 'hour')).message).toContain('at most 400 days');
  });
});

describe('subjectFromScope', () => {
  it('maps scopes to rollup subjects', () => {
    expect(subjectFromScope(undefined)).toEqual({ kind: 'all' });
    expect(subjectFromScope('all')).toEqual({ kind: 'all' });
    expect(subjectFromScope("district:Bao'an")).toEqual({ kind: 'district', value: "Bao'an" });
    expect(subjectFromScope('host:h-42')).toEqual({ kind: 'host', value: 'h-42' });
  });

  it('refuses stream, campaign and unknown scopes with a pointer', () => {
    expect(errorOf(() => subjectFromScope('stream:s-1')).message).toMatch(
      /per-stream history .* lt_events .* POST \/v1\/sql/,
    );
    expect(errorOf(() => subjectFromScope('campaign:ecm')).message).toContain('/v1/campaigns/ecm/history');
    expect(errorOf(() => subjectFromScope('planet:Mars'))).toMatchObject({ code: 'INVALID_SCOPE', status: 400 });
  });
});
