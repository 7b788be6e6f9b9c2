import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ChdbAccount } from './config';
import { ClickHouseHttpError, ErrorCode } from './errors';

export interface Credentials {
  user: string;
  password: string;
}

/** Who a request acts as: the writer, or the read-only reader. */
export type Role = 'writer' | 'reader';

export interface Accounts {
  writer: ChdbAccount;
  reader?: ChdbAccount;
}

const HEADER_HINT =
  'send the credentials in the Authorization: Basic header or the X-ClickHouse-User and X-ClickHouse-Key headers';

/**
 * Credentials the way ClickHouse accepts them in headers: Basic auth, or the
 * X-ClickHouse-User/Key pair (a missing user means `default`). URL parameters
 * are refused: a web page can put them in a link or form, but cannot add these
 * headers to a request it sends elsewhere, so header-only credentials keep
 * browsers out.
 */
export function credentialsFrom(headers: IncomingHttpHeaders, search: URLSearchParams): Credentials {
  if (search.has('user') || search.has('password')) {
    throw authError(`Credentials in URL parameters (user, password) are not accepted; ${HEADER_HINT}`);
  }
  const auth = headers.authorization;
  const headerUser = headers['x-clickhouse-user'];
  const headerKey = headers['x-clickhouse-key'];
  const viaHeaders = headerUser !== undefined || headerKey !== undefined;
  if (auth !== undefined && viaHeaders) {
    // ClickHouse refuses this mix as well: which of the two would count is ambiguous.
    throw authError('Authorization and X-ClickHouse-User/X-ClickHouse-Key cannot be used together');
  }
  if (auth !== undefined) {
    if (!/^basic\s/i.test(auth)) throw authError(`Only Basic authentication is supported; ${HEADER_HINT}`);
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { user: decoded || 'default', password: '' }
      : { user: decoded.slice(0, colon) || 'default', password: decoded.slice(colon + 1) };
  }
  if (viaHeaders) return { user: String(headerUser ?? '') || 'default', password: String(headerKey ?? '') };
  throw authError(`Authentication is required: ${HEADER_HINT}`);
}

/** The role whose account the request's credentials match; every account is compared, in constant time. */
export function authenticate(headers: IncomingHttpHeaders, search: URLSearchParams, accounts: Accounts): Role {
  const given = credentialsFrom(headers, search);
  const writer = credentialsMatch(accounts.writer, given);
  const reader = accounts.reader !== undefined && credentialsMatch(accounts.reader, given);
  if (writer) return 'writer';
  if (reader) return 'reader';
  throw authError(`${given.user}: Authentication failed: password is incorrect, or there is no user with such name`);
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

function authError(message: string): ClickHouseHttpError {
  return ClickHouseHttpError.of(ErrorCode.AUTHENTICATION_FAILED, message);
}
