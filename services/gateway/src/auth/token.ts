import { createHmac, timingSafeEqual } from 'node:crypto';
import { checkScopePattern } from './scopes';

/**
 * Signed, expiring access tokens: `base64url(payload).base64url(HMAC-SHA256(key, first part))`.
 * The payload is compact JSON: { v: 1, alg: "HS256", kid?, sub, role, scopes, iat, exp }
 * with times in seconds since the epoch. Pure: no clock, no environment.
 */
export const ROLES = ['reader', 'admin', 'engineer'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenClaims {
  /** Who the token was issued to (a screen, an operator); for logs only. */
  sub: string;
  role: Role;
  /** Scope patterns (see scopes.ts) the holder may read. */
  scopes: string[];
  iat: number;
  exp: number;
  /** The key that signed it; absent when the only configured secret has no name. */
  kid?: string;
}

export interface TokenKey {
  kid?: string;
  secret: string;
}

export const TOKEN_ALG = 'HS256';
export const MIN_SECRET_BYTES = 32;
export const MAX_TOKEN_CHARS = 4096;
const MAX_SCOPES = 100;
const SUB = /^[\p{L}\p{N}][\p{L}\p{N} @'._:-]{0,127}$/u;
export const KID = /^[A-Za-z0-9._-]{1,32}$/;
// A 32-byte HMAC is 43 base64url characters without padding.
const SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{43}$/;

export type VerifyFailure =
  'malformed' | 'unsupported_alg' | 'unknown_key' | 'bad_signature' | 'invalid_claims' | 'expired' | 'not_yet_valid';
export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: VerifyFailure; message: string };

export interface VerifyOptions {
  /** Now, in ms since the epoch. */
  now: number;
  /** Tolerated clock difference between the minting host and the gateway. */
  clockSkewSeconds: number;
}

const sign = (key: TokenKey, data: string): Buffer =>
  createHmac('sha256', Buffer.from(key.secret, 'utf8')).update(data, 'ascii').digest();

/** Signs claims with a key (its kid goes into the payload); throws when the claims are not valid. */
export function signToken(claims: Omit<TokenClaims, 'kid'>, key: TokenKey): string {
  const problem = checkClaims({ ...claims, kid: key.kid });
  if (problem) throw new Error(`cannot sign: ${problem}`);
  const payload = {
    v: 1,
    alg: TOKEN_ALG,
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    sub: claims.sub,
    role: claims.role,
    scopes: claims.scopes,
    iat: claims.iat,
    exp: claims.exp,
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${sign(key, body).toString('base64url')}`;
}

/** Mints a token valid from `now` (ms) for `ttlSeconds`. */
export function mintToken(
  input: { sub: string; role: Role; scopes: string[]; ttlSeconds: number; now: number },
  key: TokenKey,
): string {
  const iat = Math.floor(input.now / 1000);
  return signToken({ sub: input.sub, role: input.role, scopes: input.scopes, iat, exp: iat + input.ttlSeconds }, key);
}

/**
 * Verifies a presented token against the configured keys: shape, algorithm, key id,
 * signature (constant-time), claims, then time. Never throws; reasons are for logs
 * and metrics, callers tell the client little more than "invalid" or "expired".
 */
export function verifyToken(token: unknown, keys: readonly TokenKey[], options: VerifyOptions): VerifyResult {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !SHAPE.test(token))
    return fail('malformed', 'not a token');
  const [body, sig] = token.split('.') as [string, string];
  const signature = Buffer.from(sig, 'base64url');
  // Exactly one encoding is accepted for each part, so a token cannot be altered and still pass.
  if (signature.toString('base64url') !== sig) return fail('malformed', 'signature is not canonical base64url');
  const raw = Buffer.from(body, 'base64url');
  if (raw.toString('base64url') !== body) return fail('malformed', 'payload is not canonical base64url');
  let payload: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return fail('malformed', 'payload is not a JSON object');
    payload = parsed as Record<string, unknown>;
  } catch {
    return fail('malformed', 'payload is not JSON');
  }
  if (payload.v !== 1 || payload.alg !== TOKEN_ALG) return fail('unsupported_alg', 'unsupported version or algorithm');
  if (payload.kid !== undefined && typeof payload.kid !== 'string') return fail('malformed', 'kid is not a string');
  const key = keys.find((k) => k.kid === payload.kid);
  if (!key) return fail('unknown_key', 'signed with a key this gateway does not know');
  if (!timingSafeEqual(sign(key, body), signature)) return fail('bad_signature', 'signature does not match');
  const claims = payload as unknown as TokenClaims;
  const problem = checkClaims(claims);
  if (problem) return fail('invalid_claims', problem);
  const nowSeconds = options.now / 1000;
  if (nowSeconds >= claims.exp + options.clockSkewSeconds) return fail('expired', 'token has expired');
  if (claims.iat > nowSeconds + options.clockSkewSeconds)
    return fail('not_yet_valid', 'token was issued in the future');
  return {
    ok: true,
    claims: {
      sub: claims.sub,
      role: claims.role,
      scopes: [...claims.scopes],
      iat: claims.iat,
      exp: claims.exp,
      ...(claims.kid === undefined ? {} : { kid: claims.kid }),
    },
  };
}

/** A problem with the claims' shape, or undefined. */
export function checkClaims(c: Partial<TokenClaims>): string | undefined {
  if (typeof c.sub !== 'string' || !SUB.test(c.sub)) return 'sub must be 1-128 letters, digits or " @\'._:-"';
  if (!ROLES.includes(c.role as Role)) return `role must be one of ${ROLES.join(', ')}`;
  if (!Array.isArray(c.scopes) || c.scopes.length > MAX_SCOPES || c.scopes.some((s) => typeof s !== 'string'))
    return `scopes must be a list of at most ${MAX_SCOPES} strings`;
  const bad = c.scopes.map(checkScopePattern).find((p) => p !== undefined);
  if (bad) return bad;
  if (!Number.isSafeInteger(c.iat) || !Number.isSafeInteger(c.exp) || (c.iat as number) < 0)
    return 'iat and exp must be whole seconds since the epoch';
  if ((c.exp as number) <= (c.iat as number)) return 'exp must be after iat';
  if (c.kid !== undefined && !KID.test(c.kid)) return 'kid must be 1-32 characters of A-Z a-z 0-9 . _ -';
  return undefined;
}

function fail(reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message };
}
