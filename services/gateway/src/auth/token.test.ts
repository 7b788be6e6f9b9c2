import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTokenSecrets, parseTtl } from './keys';
import { mintToken, signToken, verifyToken, type TokenKey } from './token';

const K1: TokenKey = { kid: 'k1', secret: 'a'.repeat(24) + 'secret-one-000' };
const K2: TokenKey = { kid: 'k2', secret: 'b'.repeat(24) + 'secret-two-000' };
const NOW = Date.UTC(2024, 7, 23, 12, 0, 0);
const opts = { now: NOW, clockSkewSeconds: 30 };
const reader = { sub: 'screen-1', role: 'reader' as const, scopes: ['campaign:ecm-2024'], ttlSeconds: 3600, now: NOW };

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** Signs an arbitrary payload the way the library does, to build tokens it would never mint. */
const forge = (payload: unknown, key: TokenKey = K1) => {
  const body = b64(payload);
  return `${body}.${createHmac('sha256', key.secret).update(body).digest('base64url')}`;
};
const base = {
  v: 1,
  alg: 'HS256',
  kid: 'k1',
  sub: 's',
  role: 'reader',
  scopes: ['all'],
  iat: NOW / 1000,
  exp: NOW / 1000 + 60,
};

describe('tokens', () => {
  it('round-trips claims and keeps the payload compact', () => {
    const token = mintToken(reader, K1);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({
      v: 1,
      alg: 'HS256',
      kid: 'k1',
      sub: 'screen-1',
      role: 'reader',
      scopes: ['campaign:ecm-2024'],
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
    });
    expect(verifyToken(token, [K2, K1], opts)).toEqual({
      ok: true,
      claims: {
        sub: 'screen-1',
        role: 'reader',
        scopes: ['campaign:ecm-2024'],
        iat: NOW / 1000,
        exp: NOW / 1000 + 3600,
        kid: 'k1',
      },
    });
  });

  it('expires, with the configured clock skew either way', () => {
    const token = mintToken({ ...reader, ttlSeconds: 60 }, K1);
    expect(verifyToken(token, [K1], { now: NOW + 89_000, clockSkewSeconds: 30 }).ok).toBe(true);
    expect(verifyToken(token, [K1], { now: NOW + 90_000, clockSkewSeconds: 30 })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(verifyToken(token, [K1], { now: NOW + 60_000, clockSkewSeconds: 0 })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    // Minted on a host whose clock runs ahead: accepted within the skew, refused beyond it.
    expect(verifyToken(token, [K1], { now: NOW - 30_000, clockSkewSeconds: 30 }).ok).toBe(true);
    expect(verifyToken(token, [K1], { now: NOW - 31_000, clockSkewSeconds: 30 })).toMatchObject({
      ok: false,
      reason: 'not_yet_valid',
    });
  });

  it('refuses forged and altered tokens', () => {
    const token = mintToken(reader, K1);
    const [body, sig] = token.split('.') as [string, string];
    const admin = b64({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), role: 'admin', scopes: ['*'] });
    expect(verifyToken(`${admin}.${sig}`, [K1], opts)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(
      verifyToken(forge({ ...base, role: 'admin' }, { kid: 'k1', secret: 'x'.repeat(40) }), [K1], opts),
    ).toMatchObject({ ok: false, reason: 'bad_signature' });
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    expect(verifyToken(`${body}.${flipped}`, [K1], opts)).toMatchObject({ ok: false, reason: 'bad_signature' });
    // A different encoding of the same signature bytes (last char's unused bits set) is refused.
    const last = sig.at(-1)!;
    const alias = 'AEIMQUYcgkosw048'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last;
    if (alias !== last)
      expect(verifyToken(`${body}.${sig.slice(0, -1)}${alias}`, [K1], opts)).toMatchObject({
        ok: false,
        reason: 'malformed',
      });
  });

  it('refuses unknown key ids and algorithms', () => {
    expect(verifyToken(mintToken(reader, K2), [K1], opts)).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(verifyToken(forge({ ...base, kid: undefined }), [K1], opts)).toMatchObject({
      ok: false,
      reason: 'unknown_key',
    });
    expect(verifyToken(forge({ ...base, alg: 'none' }), [K1], opts)).toMatchObject({
      ok: false,
      reason: 'unsupported_alg',
    });
    expect(verifyToken(forge({ ...base, v: 2 }), [K1], opts)).toMatchObject({ ok: false, reason: 'unsupported_alg' });
    // A single secret without a kid signs and verifies tokens without one.
    const bare = { secret: K1.secret };
    expect(verifyToken(mintToken(reader, bare), [bare], opts).ok).toBe(true);
    expect(verifyToken(mintToken(reader, bare), [K1], opts)).toMatchObject({ ok: false, reason: 'unknown_key' });
  });

  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['one part', 'abc'],
    ['three parts', `${mintToken(reader, K1)}.x`],
    ['bad characters', 'ab+c.' + 'A'.repeat(43)],
    ['short signature', 'abcd.' + 'A'.repeat(42)],
    ['too long', 'a'.repeat(5000) + '.' + 'A'.repeat(43)],
    ['payload not JSON', forge('not json')],
    ['payload an array', forge([1, 2])],
  ])('treats %s as malformed', (_what, token) => {
    expect(verifyToken(token, [K1], opts)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it.each([
    ['a role it does not know', { role: 'root' }],
    ['a bad scope pattern', { scopes: ['campaign:*x'] }],
    ['a non-canonical scope', { scopes: ['planet:Mars'] }],
    ['scopes not a list', { scopes: 'all' }],
    ['fractional times', { exp: base.exp + 0.5 }],
    ['exp before iat', { exp: base.iat - 1 }],
    ['an empty sub', { sub: '' }],
  ])('refuses signed claims with %s', (_what, patch) => {
    expect(verifyToken(forge({ ...base, ...patch }), [K1], opts)).toMatchObject({
      ok: false,
      reason: 'invalid_claims',
    });
  });

  it('will not sign invalid claims', () => {
    expect(() => signToken({ sub: 's', role: 'reader', scopes: ['nope'], iat: 1, exp: 2 }, K1)).toThrow(
      /scope pattern/,
    );
    expect(() => signToken({ sub: 's', role: 'reader', scopes: [], iat: 5, exp: 5 }, K1)).toThrow(
      /exp must be after iat/,
    );
  });
});

describe('GATEWAY_TOKEN_SECRETS', () => {
  it('parses kid:secret lists in order, the first signing', () => {
    expect(parseTokenSecrets(` k2:${K2.secret} , k1:${K1.secret}`)).toEqual({ ok: true, keys: [K2, K1] });
    expect(parseTokenSecrets(K1.secret)).toEqual({ ok: true, keys: [{ secret: K1.secret }] });
  });

  it('reports every problem without quoting a secret', () => {
    const r = parseTokenSecrets(
      'k1:short-secret-value,bad kid!:' + 'x'.repeat(40) + ',k1:' + 'y'.repeat(40) + ',' + 'z'.repeat(40),
    );
    expect(r.ok).toBe(false);
    const text = (r as { problems: string[] }).problems.join('\n');
    expect(text).toMatch(/entry 1 \(k1\): the secret must be at least 32 bytes/);
    expect(text).toMatch(/entry 2: the kid must be/);
    expect(text).toMatch(/entry 3 \(k1\): the kid is listed twice/);
    expect(text).toMatch(/entry 4: with several secrets every entry must be kid:secret/);
    expect(text).not.toMatch(/short-secret|xxxx|yyyy|zzzz/);
    expect(parseTokenSecrets('')).toMatchObject({
      ok: false,
      problems: [expect.stringContaining('GATEWAY_TOKEN_SECRETS is required')],
    });
  });

  it('parses TTLs', () => {
    expect([parseTtl('90s'), parseTtl('15m'), parseTtl('8h'), parseTtl('30d'), parseTtl('120')]).toEqual([
      90, 900, 28_800, 2_592_000, 120,
    ]);
    expect([parseTtl('0'), parseTtl('1y'), parseTtl('367d'), parseTtl('-5m'), parseTtl('')]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
