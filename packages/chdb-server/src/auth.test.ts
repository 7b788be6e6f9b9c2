import { describe, expect, it } from 'vitest';
import { authenticate, credentialsFrom, credentialsMatch } from './auth';
import { ClickHouseHttpError } from './errors';

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const none = new URLSearchParams();

function refusal(fn: () => unknown): ClickHouseHttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClickHouseHttpError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('credentials', () => {
  it('reads Basic auth and the ClickHouse headers', () => {
    expect(credentialsFrom({ authorization: basic('app:s3:cret') }, none)).toEqual({
      user: 'app',
      password: 's3:cret',
    });
    expect(credentialsFrom({ 'x-clickhouse-user': 'app', 'x-clickhouse-key': 'k' }, none)).toEqual({
      user: 'app',
      password: 'k',
    });
    expect(credentialsFrom({ 'x-clickhouse-key': 'k' }, none)).toEqual({ user: 'default', password: 'k' });
  });

  it('refuses URL parameters, missing credentials, other schemes and a mix of both header kinds', () => {
    expect(refusal(() => credentialsFrom({}, new URLSearchParams('user=u&password=p'))).message).toMatch(
      /URL parameters/,
    );
    expect(
      refusal(() => credentialsFrom({ authorization: basic('u:p') }, new URLSearchParams('password=p'))).code,
    ).toBe(516);
    expect(refusal(() => credentialsFrom({}, none)).message).toMatch(/Authentication is required/);
    expect(refusal(() => credentialsFrom({ authorization: 'Bearer t' }, none)).message).toMatch(/Only Basic/);
    expect(
      refusal(() => credentialsFrom({ authorization: basic('u:p'), 'x-clickhouse-user': 'u' }, none)).message,
    ).toMatch(/together/);
  });

  it('matches only when both user and password are equal', () => {
    const expected = { user: 'app', password: 'secret' };
    expect(credentialsMatch(expected, { user: 'app', password: 'secret' })).toBe(true);
    expect(credentialsMatch(expected, { user: 'app', password: 'secret!' })).toBe(false);
    expect(credentialsMatch(expected, { user: 'other', password: 'secret' })).toBe(false);
    expect(credentialsMatch(expected, { user: 'app', password: '' })).toBe(false);
  });

  it('tells the writer from the reader, and neither from a stranger', () => {
    const accounts = { writer: { user: 'w', password: 'wp' }, reader: { user: 'r', password: 'rp' } };
    expect(authenticate({ authorization: basic('w:wp') }, none, accounts)).toBe('writer');
    expect(authenticate({ 'x-clickhouse-user': 'r', 'x-clickhouse-key': 'rp' }, none, accounts)).toBe('reader');
    expect(refusal(() => authenticate({ authorization: basic('r:wp') }, none, accounts)).type).toBe(
      'AUTHENTICATION_FAILED',
    );
    expect(refusal(() => authenticate({ authorization: basic('r:rp') }, none, { writer: accounts.writer })).code).toBe(
      516,
    );
  });
});
