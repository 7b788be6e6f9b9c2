import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@livetally/logging';
import { FakeHistory, FakeSql, makeApiApp, memoryCampaigns } from '../testing/api-fakes';
import { presentedToken } from './guard';
import { mintToken, type Role, type TokenKey } from './token';

const KEY: TokenKey = { kid: 'k1', secret: 'unit-test-secret-that-is-long-enough' };
const auth = { keys: [KEY], clockSkewSeconds: 30, metricsPublic: false };
const token = (role: Role, scopes: string[], ttlSeconds = 600, now = Date.now()) =>
  mintToken({ sub: `t-${role}`, role, scopes, ttlSeconds, now }, KEY);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const READER = token('reader', ['campaign:ecm-2024']);
const ADMIN = token('admin', ['*']);
const ENGINEER = token('engineer', ['*']);
const campaign = (id: string) => ({
  id,
  name: id,
  startsAt: '2024-08-23T00:00:00+08:00',
  endsAt: '2024-11-01T00:00:00+08:00',
});

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function make(over: Partial<typeof auth> = {}, extra: Parameters<typeof makeApiApp>[0] = {}) {
  const sql = new FakeSql();
  const campaigns = memoryCampaigns(() => Date.parse('2024-09-01T00:00:00Z')).service;
  app = await makeApiApp({ history: new FakeHistory(), sql, campaigns, auth: { ...auth, ...over }, ...extra });
  return { app, sql };
}

describe('REST access control (GATEWAY_AUTH=on)', () => {
  it('keeps probes, the page and the API document open, with the security headers', async () => {
    const { app } = await make();
    for (const url of ['/healthz', '/readyz', '/', '/openapi.json'])
      expect((await app.inject(url)).statusCode, url).toBe(200);
    const refused = await app.inject('/v1/totals/all');
    expect(refused.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    expect(String(refused.headers['content-security-policy'])).toContain("default-src 'self'");
    expect((await app.inject('/v2/nothing')).statusCode).toBe(404);
  });

  it('answers 401 for missing, malformed, forged and expired tokens', async () => {
    const { app } = await make();
    const missing = await app.inject('/v1/totals/campaign:ecm-2024');
    expect([missing.statusCode, missing.json().error.code, missing.headers['www-authenticate']]).toEqual([
      401,
      'UNAUTHORIZED',
      'Bearer realm="livetally"',
    ]);
    const basic = await app.inject({ url: '/v1/totals/all', headers: { authorization: 'Basic YTpi' } });
    expect(basic.statusCode).toBe(401);
    const forgedKey: TokenKey = { kid: 'k1', secret: 'another-secret-that-is-long-enough!!' };
    const forged = mintToken(
      { sub: 'x', role: 'engineer', scopes: ['*'], ttlSeconds: 600, now: Date.now() },
      forgedKey,
    );
    const res = await app.inject({ url: '/v1/totals/all', headers: bearer(forged) });
    expect([res.statusCode, res.json().error.message, res.headers['www-authenticate']]).toEqual([
      401,
      'the token is not valid',
      'Bearer realm="livetally", error="invalid_token"',
    ]);
    const expired = token('reader', ['*'], 60, Date.now() - 3_600_000);
    expect((await app.inject({ url: '/v1/totals/all', headers: bearer(expired) })).json().error.message).toBe(
      'the token has expired',
    );
    expect((await app.inject({ url: '/v1/totals/all', headers: bearer('garbage') })).statusCode).toBe(401);
    // A token in the query string is for WebSocket upgrades only.
    expect((await app.inject(`/v1/totals/campaign:ecm-2024?token=${READER}`)).statusCode).toBe(401);
  });

  it('limits a campaign reader to its campaign', async () => {
    const { app, sql } = await make();
    for (const body of [campaign('ecm-2024'), campaign('other')])
      expect(
        (await app.inject({ method: 'POST', url: '/v1/campaigns', headers: bearer(ADMIN), payload: body })).statusCode,
      ).toBe(201);
    const get = (url: string) => app.inject({ url, headers: bearer(READER) });
    expect((await get('/v1/totals/campaign:ecm-2024')).statusCode).toBe(200);
    expect((await get('/v1/campaigns/ecm-2024')).statusCode).toBe(200);
    expect((await get('/v1/campaigns/ecm-2024/history?granularity=day')).statusCode).toBe(200);
    expect((await get('/v1/campaigns')).json().campaigns.map((c: { id: string }) => c.id)).toEqual(['ecm-2024']);
    expect((await app.inject({ url: '/v1/campaigns', headers: bearer(ADMIN) })).json().campaigns).toHaveLength(2);
    for (const url of [
      '/v1/totals/all',
      '/v1/totals/campaign:other',
      '/v1/campaigns/other',
      '/v1/history/totals?from=0&to=60000',
      '/v1/history/top?dimension=host&from=0&to=60000&scope=district:Luohu',
    ]) {
      const res = await get(url);
      expect([res.statusCode, res.json().error.code], url).toEqual([403, 'FORBIDDEN']);
    }
    for (const [method, url] of [
      ['POST', '/v1/campaigns'],
      ['PUT', '/v1/campaigns/ecm-2024'],
      ['POST', '/v1/campaigns/ecm-2024/end'],
      ['POST', '/v1/sql'],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        headers: bearer(READER),
        payload: method === 'POST' && url === '/v1/sql' ? { query: 'SELECT 1' } : campaign('ecm-2024'),
      });
      expect([res.statusCode, res.json().error.code], `${method} ${url}`).toEqual([403, 'FORBIDDEN']);
    }
    expect(sql.queries).toEqual([]);
  });

  it('lets admins change campaigns within their scopes and engineers run SQL', async () => {
    const { app, sql } = await make();
    const scoped = token('admin', ['campaign:a']);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/campaigns', headers: bearer(scoped), payload: campaign('a') }))
        .statusCode,
    ).toBe(201);
    const other = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: bearer(scoped),
      payload: campaign('b'),
    });
    expect([other.statusCode, other.json().error.message]).toEqual([403, 'the token does not cover "campaign:b"']);
    expect((await app.inject({ method: 'POST', url: '/v1/campaigns/a/end', headers: bearer(scoped) })).statusCode).toBe(
      200,
    );
    expect(
      (await app.inject({ method: 'POST', url: '/v1/sql', headers: bearer(ADMIN), payload: { query: 'SELECT 1' } }))
        .statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/sql', headers: bearer(ENGINEER), payload: { query: 'SELECT 1' } }))
        .statusCode,
    ).toBe(200);
    sql.verdict = async () => ({ ok: false, refusal: 'STATEMENT', reason: 'DROP is not accepted' });
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/sql',
          headers: bearer(ENGINEER),
          payload: { query: 'DROP TABLE lt_events' },
        })
      ).json().error.code,
    ).toBe('READ_ONLY');
    expect(sql.queries.map((q) => q.query)).toEqual(['SELECT 1']);
  });

  it('puts /metrics behind admin or engineer unless GATEWAY_METRICS_PUBLIC', async () => {
    const { app } = await make();
    expect((await app.inject('/metrics')).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: bearer(READER) })).statusCode).toBe(403);
    const metrics = await app.inject({ url: '/metrics', headers: bearer(ENGINEER) });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/livetally_gateway_access_refused_total\{reason="missing"\} 1/);
    await app.close();
    expect((await (await make({ metricsPublic: true })).app.inject('/metrics')).statusCode).toBe(200);
  });

  it('refuses bodies over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const { app } = await make({}, { limits: { bodyLimit: 2048 } });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: bearer(ADMIN),
      payload: { ...campaign('big'), name: 'x'.repeat(4096) },
    });
    expect([res.statusCode, res.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('documents the bearer scheme in the OpenAPI document', async () => {
    const { app } = await make();
    const doc = (await app.inject('/openapi.json')).json();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/v1/totals/{scope}'].get).toMatchObject({
      security: [{ bearerAuth: [] }],
      responses: { 401: expect.anything(), 403: expect.anything() },
    });
    expect(doc.paths['/v1/campaigns'].post['x-required-role']).toBe('admin');
    expect(doc.paths['/v1/sql'].post['x-required-role']).toBe('engineer');
  });

  it('never logs the token of a dashboard or WebSocket URL', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      service: 'gateway',
      level: 'info',
      destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }),
    });
    const { app } = await make({}, { logger });
    await app.inject(`/?campaign=ecm-2024&token=${READER}`);
    await app.inject({ url: '/v1/totals/all', headers: bearer(READER) });
    expect(lines.join('')).toContain('token=[redacted]');
    expect(lines.join('')).not.toContain(READER.slice(0, 20));
  });
});

describe('presentedToken', () => {
  const req = (headers: Record<string, string>, query: Record<string, string> = {}, ws = true) =>
    presentedToken({ headers, query, ws });
  it('reads the header first, then a bearer. subprotocol, then ?token= (upgrades only)', () => {
    expect(req({ authorization: 'Bearer abc' }, { token: 'q' })).toEqual({ token: 'abc' });
    expect(req({ authorization: 'bearer  abc ' })).toEqual({ token: 'abc' });
    expect(req({ authorization: 'Token abc' })).toEqual({ problem: expect.stringContaining('Bearer') });
    expect(req({ 'sec-websocket-protocol': 'livetally, bearer.p.s' }, { token: 'q' })).toEqual({ token: 'p.s' });
    expect(req({}, { token: 'q' })).toEqual({ token: 'q' });
    expect(req({}, { token: 'q' }, false)).toEqual({});
    expect(req({})).toEqual({});
  });
});
