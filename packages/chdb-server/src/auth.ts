import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Credentials {
  user: string;
  password: string;
}

/**
 * Credentials the way ClickHouse accepts them over HTTP: Basic auth, the
 * X-ClickHouse-User/Key headers, or `user`/`password` URL parameters. A
 * missing user means ClickHouse's `default` user, a missing password ''.
 */
export function credentialsFrom(headers: IncomingHttpHeaders, search: URLSearchParams): Credentials {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^basic\s/i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { user: decoded || 'default', password: '' }
      : { user: decoded.slice(0, colon) || 'default', password: decoded.slice(colon + 1) };
  }
  const headerUser = headers['x-clickhouse-user'];
  const headerKey = headers['x-clickhouse-key'];
  if (headerUser !== undefined || headerKey !== undefined) {
    return { user: String(headerUser ?? '') || 'default', password: String(headerKey ?? '') };
  }
  return { user: search.get('user') || 'default', password: search.get('password') ?? '' };
}

/**
 * Constant-time comparison: both sides are hashed first so neither the
 * content nor the length of the secrets leaks through timing, and user and
 * password are always both compared.
 */
export function credentialsMatch(expected: Credentials, given: Credentials): boolean {
  const userOk = timingSafeEqual(digest(expected.user), digest(given.user));
  const passwordOk = timingSafeEqual(digest(expected.password), digest(given.password));
  return userOk && passwordOk;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
