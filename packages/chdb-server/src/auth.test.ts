import { describe, expect, it } from 'vitest';
import { credentialsFrom, credentialsMatch } from './auth';

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

describe('credentials', () => {
  it('reads Basic auth, ClickHouse headers and URL parameters', () => {
    const none = new URLSearchParams();
    expect(credentialsFrom({ authorization: basic('app:s3:cret') }, none)).toEqual({ user: 'app', password: 's3:cret' });
    expect(credentialsFrom({ 'x-clickhouse-user': 'app', 'x-clickhouse-key': 'k' }, none)).toEqual({ user: 'app', password: 'k' });
    expect(credentialsFrom({}, new URLSearchParams('user=u&password=p'))).toEqual({ user: 'u', password: 'p' });
    expect(credentialsFrom({}, none)).toEqual({ user: 'default', password: '' });
  });

  it('matches only when both user and password are equal', () => {
    const expected = { user: 'app', password: 'secret' };
    expect(credentialsMatch(expected, { user: 'app', password: 'secret' })).toBe(true);
    expect(credentialsMatch(expected, { user: 'app', password: 'secret!' })).toBe(false);
    expect(credentialsMatch(expected, { user: 'other', password: 'secret' })).toBe(false);
    expect(credentialsMatch(expected, { user: 'app', password: '' })).toBe(false);
  });
});
