import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@livetally/logging';
import { buildApp } from './app';
import { LiveHub } from './live/hub';
import { MemoryTotals } from './testing/fakes';

const NOW = Date.UTC(2025, 10, 11, 12, 0, 0);
let app: FastifyInstance | undefined;

async function makeApp(options: { ready?: () => boolean } = {}) {
  const totals = new MemoryTotals()
    .add('all', {
      views: 12,
      sessions: 3,
      sessionsEnded: 1,
      salesFen: 9_007_199_254_740_991,
      refundsFen: 2_500,
      orders: 4,
      items: 9,
      refunds: 1,
      likes: 40,
    })
    .add("district:Bao'an", { orders: 7 });
  const hub = new LiveHub({ reader: totals, tickMs: 1000, maxSubscriptionsPerClient: 5 });
  app = await buildApp({
    totals,
    hub,
    isReady: options.ready ?? (() => true),
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    now: () => NOW,
  });
  return { app, totals, hub };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /v1/totals/:scope', () => {
  it('answers the exact totals of a scope', async () => {
    const { app } = await makeApp();
    const res = await app.inject('/v1/totals/all');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({
      scope: 'all',
      totals: {
        views: 12,
        sessions: 3,
        sessionsEnded: 1,
        salesFen: 9_007_199_254_740_991,
        refundsFen: 2_500,
        orders: 4,
        items: 9,
        refunds: 1,
        likes: 40,
      },
      asOf: '2025-11-11T12:00:00.000Z',
    });
    expect(res.body).toContain('"salesFen":9007199254740991');
  });

  it('URL-decodes the scope', async () => {
    const { app } = await makeApp();
    for (const url of ["/v1/totals/district:Bao'an", '/v1/totals/district%3ABao%27an']) {
      const res = await app.inject(url);
      expect(res.json()).toMatchObject({ scope: "district:Bao'an", totals: { orders: 7, views: 0 } });
    }
    expect((await app.inject(`/v1/totals/${encodeURIComponent('district:福田')}`)).json()).toMatchObject({
      scope: 'district:福田',
      totals: { orders: 0 },
    });
    expect((await app.inject(`/v1/totals/city:${'x'.repeat(128)}`)).statusCode).toBe(200); // longer than fastify's default param limit
  });

  it.each([
    ['nope', 'scope must be "all" or "<kind>:<value>"'],
    ['planet:Mars', 'unknown scope kind "planet"'],
    ['district:', 'is empty, too long'],
    ['district:%3Cscript%3E', 'characters that are not allowed'],
    [`city:${'x'.repeat(129)}`, 'too long'],
  ])('rejects %s with 400 INVALID_SCOPE', async (scope, hint) => {
    const { app } = await makeApp();
    const res = await app.inject(`/v1/totals/${scope}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'INVALID_SCOPE', message: expect.stringContaining(hint) } });
  });

  it('answers 503 NOT_READY when not ready or when the store fails', async () => {
    let ready = false;
    const { app, totals } = await makeApp({ ready: () => ready });
    expect((await app.inject('/v1/totals/all')).json()).toMatchObject({ error: { code: 'NOT_READY' } });
    ready = true;
    totals.failReads = 1;
    const res = await app.inject('/v1/totals/all');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_READY' } });
  });
});

describe('operational endpoints', () => {
  it('/healthz is up and /readyz follows isReady', async () => {
    let ready = false;
    const { app } = await makeApp({ ready: () => ready });
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const notReady = await app.inject('/readyz');
    expect([notReady.statusCode, notReady.json().error.code]).toEqual([503, 'NOT_READY']);
    ready = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    ready = false;
    expect((await app.inject('/readyz')).statusCode).toBe(503);
  });

  it('/metrics exposes the gateway metrics in Prometheus format', async () => {
    const { app } = await makeApp();
    await app.inject('/v1/totals/all');
    await app.inject('/v1/totals/bad');
    const res = await app.inject('/metrics');
    expect(res.headers['content-type']).toContain('text/plain');
    for (const name of [
      'livetally_gateway_ws_clients',
      'livetally_gateway_ws_subscriptions',
      'livetally_gateway_ws_messages_sent_total',
      'livetally_gateway_update_fanout_latency_seconds',
      'livetally_gateway_http_request_duration_seconds',
    ]) {
      expect(res.body).toContain(`# TYPE ${name}`);
    }
    expect(res.body).toContain(
      'livetally_gateway_http_requests_total{method="GET",route="/v1/totals/:scope",status="200"} 1',
    );
    expect(res.body).toContain(
      'livetally_gateway_http_requests_total{method="GET",route="/v1/totals/:scope",status="400"} 1',
    );
  });

  it('answers unknown routes with NOT_FOUND', async () => {
    const { app } = await makeApp();
    const res = await app.inject('/v2/nothing');
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('GET / (dashboard)', () => {
  it('serves the page with strict security headers', async () => {
    const { app } = await makeApp();
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    // The page may connect to its own origin only (its WebSocket included), not to any ws:/wss: host.
    expect(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d.startsWith('connect-src')),
    ).toEqual(["connect-src 'self'"]);
    expect(csp).not.toContain('unsafe-inline');
    const script = /<script>([\s\S]*?)<\/script>/.exec(res.body)![1]!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    expect(res.body).toContain('成交额 GMV');
    expect(res.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//i); // self-contained: nothing from elsewhere
  });
});

describe('/v1/live through injectWS', () => {
  it('sends a snapshot after subscribe and error frames for bad frames', async () => {
    const { app } = await makeApp();
    await app.ready(); // injectWS, unlike inject, does not wait for plugins to load
    const ws = await app.injectWS('/v1/live');
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
    const next = async (n: number) => {
      for (let i = 0; i < 100 && frames.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      return frames.slice(0, n);
    };
    ws.send('{"type":"subscribe","channel":"totals:district:Bao\'an"}');
    ws.send('nope');
    ws.send('{"type":"subscribe","channel":"totals:planet:Mars"}');
    ws.send('{"type":"ping"}');
    const got = await next(4);
    expect(got.filter((f) => f.type === 'error').map((f) => f.code)).toEqual(['INVALID_JSON', 'INVALID_CHANNEL']);
    expect(got.find((f) => f.type === 'pong')).toBeDefined();
    expect(got.find((f) => f.type === 'snapshot')).toMatchObject({
      channel: "totals:district:Bao'an",
      data: { orders: 7 },
      seq: 1,
    });
    ws.terminate();
  });
});
