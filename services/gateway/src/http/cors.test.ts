import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { mintToken, type TokenKey } from '../auth/token';
import { makeApiApp } from '../testing/api-fakes';

const KEY: TokenKey = { kid: 'k1', secret: 'unit-test-secret-that-is-long-enough' };
const auth = { keys: [KEY], clockSkewSeconds: 30, metricsPublic: false };
const READER = mintToken({ sub: 't-reader', role: 'reader', scopes: ['*'], ttlSeconds: 600, now: Date.now() }, KEY);
const SCREENS = 'https://screens.example.com';
const EVIL = 'https://evil.example.net';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const make = async (allowedOrigins: string[]) => (app = await makeApiApp({ auth, limits: { allowedOrigins } }));
const preflight = (origin: string, method = 'GET') =>
  app!.inject({
    method: 'OPTIONS',
    url: '/v1/totals/all',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
  });
const get = (origin: string, token?: string) =>
  app!.inject({ url: '/v1/totals/all', headers: { origin, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

describe('CORS (GATEWAY_ALLOWED_ORIGINS)', () => {
  it('lets a listed origin read the API with a bearer token, preflight first', async () => {
    await make([SCREENS]);
    const pre = await preflight(SCREENS);
    expect(pre.statusCode).toBe(204);
    expect(pre.headers).toMatchObject({ 'access-control-allow-origin': SCREENS, 'access-control-max-age': '600' });
    expect(String(pre.headers['access-control-allow-headers'])).toMatch(/authorization/i);
    expect(String(pre.headers['access-control-allow-methods'])).toContain('GET');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined(); // tokens, never cookies

    const ok = await get(SCREENS, READER);
    expect([ok.statusCode, ok.headers['access-control-allow-origin']]).toEqual([200, SCREENS]);
    expect(String(ok.headers.vary)).toMatch(/origin/i);
    // Without a token the page learns it must sign in, nothing more.
    const refused = await get(SCREENS);
    expect([refused.statusCode, refused.headers['access-control-allow-origin']]).toEqual([401, SCREENS]);
  });

  it('gives an unlisted origin no CORS header, so the browser withholds every answer', async () => {
    await make([SCREENS]);
    const pre = await preflight(EVIL);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const res = await get(EVIL, READER);
    expect(res.statusCode).toBe(200); // not a browser: the token decides
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS header at all by default (empty list: same origin only)', async () => {
    await make([]);
    for (const origin of [SCREENS, EVIL]) {
      const pre = await preflight(origin);
      expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(pre.headers['access-control-allow-methods'], origin).toBeUndefined();
      expect((await get(origin, READER)).headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });

  it('opens to any origin only with *', async () => {
    await make(['*']);
    expect((await preflight(EVIL, 'POST')).headers['access-control-allow-origin']).toBe('*');
    expect((await get(EVIL, READER)).headers['access-control-allow-origin']).toBe('*');
  });

  it('keeps the preflight route out of the API document', async () => {
    await make([SCREENS]);
    const doc = (await app!.inject('/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).not.toContain('*');
    expect(Object.values(doc.paths).some((ops) => 'options' in ops)).toBe(false);
  });
});
