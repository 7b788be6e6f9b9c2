import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@livetally/logging';
import { buildApp } from '../app';
import { mintToken, type TokenKey } from '../auth/token';
import { LiveHub } from '../live/hub';
import { FakeSql } from '../testing/api-fakes';
import { MemoryTotals } from '../testing/fakes';
import { addressKey, limitGroupOf } from './rate-limit';

const KEY: TokenKey = { kid: 'k1', secret: randomBytes(36).toString('base64') };
let app: FastifyInstance | undefined;

async function makeApp(options: { perMinute?: number; sqlPerMinute?: number; auth?: boolean } = {}) {
  const totals = new MemoryTotals().add('all', { views: 1 });
  const hub = new LiveHub({ reader: totals, tickMs: 1000, maxSubscriptionsPerClient: 5 });
  app = await buildApp({
    totals,
    hub,
    isReady: () => true,
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    sql: new FakeSql(),
    auth: options.auth ? { keys: [KEY], clockSkewSeconds: 5, metricsPublic: false } : undefined,
    rateLimits: { perMinute: options.perMinute ?? 3, sqlPerMinute: options.sqlPerMinute ?? 1, keyPrefix: 'test:rl' },
  });
  return app;
}

const bearer = (sub: string) => ({
  authorization: `Bearer ${mintToken({ sub, role: 'engineer', scopes: ['*'], ttlSeconds: 600, now: Date.now() }, KEY)}`,
});
const get = (url: string, from = '10.0.0.1', headers: Record<string, string> = {}): InjectOptions => ({
  method: 'GET',
  url,
  remoteAddress: from,
  headers,
});
const sql = (from = '10.0.0.1', headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url: '/v1/sql',
  remoteAddress: from,
  headers,
  payload: { query: 'SELECT 1' },
});

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('REST rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a client address is over GATEWAY_RATE_LIMIT_PER_MINUTE; other addresses and the probes are untouched', async () => {
    const app = await makeApp({ perMinute: 3 });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.inject(get('/v1/totals/all'));
      expect(res.statusCode).toBe(200);
      remaining.push(String(res.headers['x-ratelimit-remaining']));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await app.inject(get('/v1/history/totals?from=0&to=60000'));
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('GATEWAY_RATE_LIMIT_PER_MINUTE') },
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect((await app.inject(get('/nowhere'))).statusCode).toBe(429); // unmatched URLs count too
    expect((await app.inject(get('/v1/totals/all', '10.0.0.2'))).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await app.inject(get('/healthz'))).statusCode).toBe(200);
      expect((await app.inject(get('/readyz'))).statusCode).toBe(200);
    }
    const metrics = await app.inject(get('/metrics', '10.0.0.3'));
    expect(metrics.body).toMatch(/livetally_gateway_access_refused_total\{reason="requests"\} 2/);
  });

  it('limits POST /v1/sql lower, in a budget of its own', async () => {
    const app = await makeApp({ perMinute: 5, sqlPerMinute: 2 });
    expect((await app.inject(sql())).statusCode).toBe(200);
    expect((await app.inject(sql())).statusCode).toBe(200);
    const refused = await app.inject(sql());
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toContain('GATEWAY_SQL_RATE_LIMIT_PER_MINUTE');
    expect(refused.headers['x-ratelimit-limit']).toBe('2');
    // The other routes still have their whole budget.
    const rest = await app.inject(get('/v1/totals/all'));
    expect(rest.statusCode).toBe(200);
    expect(rest.headers['x-ratelimit-remaining']).toBe('4');
  });

  it('counts a valid token by its subject wherever it comes from, and bad tokens by address, before authentication', async () => {
    const app = await makeApp({ perMinute: 2, auth: true });
    expect((await app.inject(get('/v1/totals/all', '10.0.0.1', bearer('screen-a')))).statusCode).toBe(200);
    expect((await app.inject(get('/v1/totals/all', '10.0.0.2', bearer('screen-a')))).statusCode).toBe(200);
    expect((await app.inject(get('/v1/totals/all', '10.0.0.3', bearer('screen-a')))).statusCode).toBe(429);
    expect((await app.inject(get('/v1/totals/all', '10.0.0.1', bearer('screen-b')))).statusCode).toBe(200);
    const forged = {
      authorization: `Bearer ${mintToken({ sub: 'x', role: 'reader', scopes: ['*'], ttlSeconds: 600, now: Date.now() }, { kid: 'k1', secret: randomBytes(36).toString('base64') })}`,
    };
    expect((await app.inject(get('/v1/totals/all', '10.0.0.9', forged))).statusCode).toBe(401);
    expect((await app.inject(get('/v1/totals/all', '10.0.0.9', forged))).statusCode).toBe(401);
    expect((await app.inject(get('/v1/totals/all', '10.0.0.9', forged))).statusCode).toBe(429);
  });
});

describe('OpenAPI', () => {
  it('documents the 429 with Retry-After on every limited route and not on the exempt ones', async () => {
    const app = await makeApp();
    const doc = (await app.inject(get('/openapi.json', '10.0.0.7'))).json() as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object; content?: object }> }>>;
    };
    const limited = doc.paths['/v1/sql']!.post!.responses['429']!;
    expect(limited.headers).toHaveProperty('Retry-After');
    expect(JSON.stringify(limited.content)).toContain('RATE_LIMITED');
    expect(doc.paths['/v1/totals/{scope}']!.get!.responses['429']).toBeDefined();
    for (const path of ['/healthz', '/readyz']) expect(doc.paths[path]!.get!.responses['429']).toBeUndefined();
    expect(JSON.stringify(doc.paths['/v1/live']!.get!.responses['429'] ?? {})).not.toContain('RATE_LIMITED');
  });
});

describe('limit keys and groups', () => {
  it('groups an IPv6 client by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:0:12:aaaa::1')).toBe('2001:db8:0:12::/64');
    expect(addressKey('2001:db8:0:12:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:12::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('exempts the probes and the WebSocket upgrade, and puts POST /v1/sql in its own group', () => {
    expect(limitGroupOf('GET', '/healthz')).toBeUndefined();
    expect(limitGroupOf('GET', '/readyz')).toBeUndefined();
    expect(limitGroupOf('GET', '/v1/live')).toBeUndefined();
    expect(limitGroupOf('POST', '/v1/sql')).toBe('sql');
    expect(limitGroupOf('GET', '/v1/totals/:scope')).toBe('rest');
    expect(limitGroupOf('GET', undefined)).toBe('rest');
  });
});
