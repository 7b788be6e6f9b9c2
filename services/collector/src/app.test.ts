import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@livetally/logging';
import { ApiKeyring } from './api-keys';
import { buildCollectorApp } from './app';
import { RecordsTooLargeError, SinkUnavailableError } from './kafka-sink';
import { CollectorMetrics } from './metrics';
import { buildMetricsApp } from './metrics-server';
import { DOUYIN_KEY, MemorySink, NOW, TAOBAO_KEY, saleEvent } from './testing/fakes';
import { SharedPlatformLimiter } from './platform-limit';

let app: FastifyInstance | undefined;
const logLines: string[] = [];

async function makeApp(
  options: {
    rate?: number;
    burst?: number;
    maxBatchEvents?: number;
    maxBodyBytes?: number;
    ready?: () => boolean;
  } = {},
) {
  const sink = new MemorySink();
  const metrics = new CollectorMetrics({ defaultMetrics: false });
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  app = await buildCollectorApp({
    sink,
    keys: new ApiKeyring([
      { platform: 'douyin', key: DOUYIN_KEY },
      { platform: 'taobao', key: TAOBAO_KEY },
    ]),
    // The same limiter as in production, with this process's counters only (tests/collector-rate-limit.test.ts shares them through Redis).
    limiter: new SharedPlatformLimiter({
      eventsPerSecond: options.rate ?? 1_000_000,
      burst: options.burst ?? 1_000_000,
      keyPrefix: 'test',
    }),
    limits: { maxBatchEvents: options.maxBatchEvents ?? 100, maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 },
    isReady: options.ready ?? (() => true),
    logger: createLogger({ service: 'collector', level: 'trace', destination }),
    metrics,
    now: () => NOW,
  });
  return { app, sink, metrics };
}

function post(body: unknown, headers: Record<string, string> = {}, key: string | null = DOUYIN_KEY): InjectOptions {
  return {
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
  logLines.length = 0;
});

describe('POST /v1/events', () => {
  it('accepts a batch, produces each event keyed by streamId, and answers 200 with per-event results in order', async () => {
    const { app, sink } = await makeApp();
    const events = [
      saleEvent({ eventId: 'a', streamId: 's-9' }),
      saleEvent({ eventId: 'b', type: 'view', viewerId: 'v-1', extra: 'dropped' }),
    ];
    const res = await app.inject(post({ events }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: 0,
      results: [
        { index: 0, eventId: 'a', status: 'accepted' },
        { index: 1, eventId: 'b', status: 'accepted' },
      ],
    });
    expect(sink.sent).toHaveLength(1);
    expect(sink.sent[0]!.map((m) => m.key)).toEqual(['s-9', 's-1']);
    expect(sink.events[1]).toMatchObject({ eventId: 'b', type: 'view', viewerId: 'v-1' });
    expect(sink.events[1]).not.toHaveProperty('extra'); // the validator's clean copy is what is produced
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('accepts likes, a like without a count produced as one like', async () => {
    const { app, sink } = await makeApp();
    const like = { ...saleEvent(), type: 'like', orderId: undefined, sku: undefined, quantity: undefined };
    const res = await app.inject(
      post({
        events: [
          { ...like, eventId: 'l1' },
          { ...like, eventId: 'l2', count: 40 },
        ],
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 0 });
    expect(sink.events.map((e) => [e.type, e.count])).toEqual([
      ['like', 1],
      ['like', 40],
    ]);
  });

  it('accepts view counts without a viewer and rejects a count over the bound', async () => {
    const { app, sink } = await makeApp();
    const view = { ...saleEvent(), type: 'view', orderId: undefined, sku: undefined, quantity: undefined };
    const res = await app.inject(
      post({
        events: [
          { ...view, eventId: 'v1', count: 4_000 },
          { ...view, eventId: 'v2', count: 1_000_001 },
        ],
      }),
    );
    expect(res.statusCode).toBe(207);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: 1 });
    expect(sink.events.map((e) => [e.type, e.count, e.viewerId])).toEqual([['view', 4_000, undefined]]);
  });

  it('takes a bare JSON array and a charset parameter', async () => {
    const { app } = await makeApp();
    const res = await app.inject(post([saleEvent()], { 'content-type': 'application/json; charset=UTF-8' }));
    expect(res.statusCode).toBe(200);
  });

  it('answers only after Kafka acknowledged the events', async () => {
    const { app, sink } = await makeApp();
    sink.hold = true;
    let answered = false;
    const pending = app.inject(post({ events: [saleEvent()] })).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    sink.release();
    expect((await pending).statusCode).toBe(200);
  });

  it('answers 207 with field errors for rejected events and marks in-batch duplicates', async () => {
    const { app, sink } = await makeApp();
    const res = await app.inject(
      post({
        events: [
          saleEvent({ eventId: 'x', amountFen: 1.5 }), // rejected…
          saleEvent({ eventId: 'x' }), // …so this fix of it is accepted
          saleEvent({ eventId: 'x', amountFen: 1 }), // a second copy in the same request
          { v: 1, type: 'view' },
          'not an event',
        ],
      }),
    );
    expect(res.statusCode).toBe(207);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 1, duplicates: 1, rejected: 3 });
    expect(body.results.map((r: { status: string }) => r.status)).toEqual([
      'rejected',
      'accepted',
      'duplicate_in_batch',
      'rejected',
      'rejected',
    ]);
    expect(body.results[0]).toEqual({
      index: 0,
      eventId: 'x',
      status: 'rejected',
      errors: [{ field: 'amountFen', reason: 'not_integer', message: expect.any(String) }],
    });
    expect(body.results[3].errors.map((e: { reason: string }) => e.reason)).toContain('missing_field');
    expect(body.results[4]).toMatchObject({ eventId: null, errors: [{ reason: 'not_object' }] });
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({ eventId: 'x', amountFen: 12_900 });
  });

  it('does not call Kafka when every event is rejected', async () => {
    const { app, sink } = await makeApp();
    const res = await app.inject(post({ events: [saleEvent({ ts: 5 })] }));
    expect(res.statusCode).toBe(207);
    expect(res.json().results[0].errors[0].reason).toBe('out_of_range');
    expect(sink.sent).toHaveLength(0);
  });
});

describe('authentication and platforms', () => {
  it.each([
    ['no key', {}, null],
    ['an unknown key', {}, 'not-a-real-key-at-all-xxxxxxxx'],
    ['a malformed Authorization header', { authorization: 'Basic abc' }, null],
  ])('answers 401 for %s, before reading the body', async (_label, headers, key) => {
    const { app, sink } = await makeApp();
    const res = await app.inject(post('{ this is not even json', headers, key));
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(res.json().error.code).toBe('UNAUTHORIZED');
    expect(sink.sent).toHaveLength(0);
  });

  it('accepts X-API-Key as well', async () => {
    const { app } = await makeApp();
    const res = await app.inject(
      post({ events: [saleEvent({ platform: 'taobao' })] }, { 'x-api-key': TAOBAO_KEY }, null),
    );
    expect(res.statusCode).toBe(200);
  });

  it('refuses the whole request with 403 when any event names another platform', async () => {
    const { app, sink } = await makeApp();
    const res = await app.inject(
      post({
        events: [
          saleEvent(),
          saleEvent({ eventId: 'e-2', platform: 'taobao' }),
          saleEvent({ eventId: 'e-3', platform: 'jd' }),
        ],
      }),
    );
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: {
        code: 'FORBIDDEN_PLATFORM',
        message: expect.stringContaining('2 event(s)'),
        details: { platform: 'douyin', indexes: [1, 2] },
      },
    });
    expect(sink.sent).toHaveLength(0);
  });

  it('never logs an API key', async () => {
    const { app } = await makeApp();
    await app.inject(post({ events: [saleEvent()] }));
    await app.inject(post({ events: [saleEvent()] }, { 'x-api-key': TAOBAO_KEY }, null));
    await app.inject(post({ events: [saleEvent()] }, {}, 'wrong-key-0123456789abcdefgh'));
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [DOUYIN_KEY, TAOBAO_KEY, 'wrong-key-0123456789abcdefgh']) expect(log).not.toContain(secret);
  });
});

describe('bodies and limits', () => {
  it('inflates gzip bodies', async () => {
    const { app, sink } = await makeApp();
    const res = await app.inject(
      post(gzipSync(JSON.stringify({ events: [saleEvent()] })), { 'content-encoding': 'gzip' }),
    );
    expect(res.statusCode).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('stops inflating a zip bomb at the byte limit with 413', async () => {
    const { app } = await makeApp({ maxBodyBytes: 64 * 1024 });
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MiB of spaces, ~50 KiB compressed
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await app.inject(post(bomb, { 'content-encoding': 'gzip' }));
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it.each([
    [
      'a raw body over the byte limit',
      () => post({ events: [saleEvent({ title: 'x'.repeat(70 * 1024) })] }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'more events than a batch may hold',
      () => post({ events: Array.from({ length: 101 }, (_, i) => saleEvent({ eventId: `e-${i}` })) }),
      413,
      'TOO_MANY_EVENTS',
    ],
    ['invalid JSON', () => post('{"events": ['), 400, 'INVALID_JSON'],
    ['invalid UTF-8', () => post(Buffer.from([0x7b, 0xff, 0x7d])), 400, 'INVALID_JSON'],
    ['an empty body', () => post(''), 400, 'INVALID_JSON'],
    ['an object without events', () => post({ event: [] }), 400, 'INVALID_BODY'],
    ['an empty batch', () => post({ events: [] }), 400, 'INVALID_BODY'],
    ['corrupt gzip', () => post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }), 400, 'INVALID_BODY'],
    ['text/plain', () => post('[]', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'a non-UTF-8 charset',
      () => post('[]', { 'content-type': 'application/json; charset=latin1' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['an unsupported encoding', () => post('[]', { 'content-encoding': 'br' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('answers %s with the catalogue error', async (_label, request, status, code) => {
    const { app, sink } = await makeApp();
    const res = await app.inject(request());
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
    expect(sink.sent).toHaveLength(0);
  });

  it('answers 415 when there is no content type', async () => {
    const { app } = await makeApp();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${DOUYIN_KEY}` },
    });
    expect(res.statusCode).toBe(415);
  });
});

describe('rate limit and Kafka outages', () => {
  it('answers 429 with Retry-After once a platform used its burst, per platform, and takes events again in the next window', async () => {
    const { app, sink } = await makeApp({ rate: 30, burst: 30 }); // 30 events per 1 s window
    const batch = (platform: string) => ({
      events: Array.from({ length: 20 }, (_, i) => saleEvent({ eventId: `${platform}-${i}`, platform })),
    });
    expect((await app.inject(post(batch('douyin')))).statusCode).toBe(200);
    const limited = await app.inject(post(batch('douyin')));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1'); // the window's end, never 0
    expect(limited.json().error).toEqual({ code: 'RATE_LIMITED', message: expect.stringContaining('rate limit') });
    expect((await app.inject(post(batch('taobao'), {}, TAOBAO_KEY))).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, Number(limited.headers['retry-after']) * 1000 + 100));
    expect((await app.inject(post(batch('douyin')))).statusCode).toBe(200);
    expect(sink.sent).toHaveLength(3);
  });

  it('answers 503 KAFKA_UNAVAILABLE with Retry-After when Kafka does not acknowledge', async () => {
    const { app, sink } = await makeApp();
    sink.failWith = new SinkUnavailableError('Kafka did not acknowledge within 10000 ms', 2_500);
    const res = await app.inject(post({ events: [saleEvent()] }));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.json().error.code).toBe('KAFKA_UNAVAILABLE');
  });

  it('answers 413 TOO_LARGE_FOR_KAFKA, naming the largest stream, when the broker refused the records as too large; readiness stays', async () => {
    const { app, sink, metrics } = await makeApp();
    sink.failWith = new RecordsTooLargeError({ streamId: 's-1', events: 2, bytes: 2_000_000 });
    const res = await app.inject(post({ events: [saleEvent(), saleEvent({ eventId: 'e-2' })] }));
    expect(res.statusCode).toBe(413);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.json().error).toEqual({
      code: 'TOO_LARGE_FOR_KAFKA',
      message: expect.stringContaining('smaller requests'),
      details: { largestStream: { streamId: 's-1', events: 2, bytes: 2_000_000 } },
    });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect(await metrics.render()).toContain(
      'livetally_collector_refused_requests_total{platform="douyin",code="TOO_LARGE_FOR_KAFKA"} 1',
    );
  });

  it('answers 500 INTERNAL without details for an unexpected sink error', async () => {
    const { app, sink } = await makeApp();
    sink.failWith = new Error('secret internals');
    const res = await app.inject(post({ events: [saleEvent()] }));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret internals');
  });
});

describe('operational endpoints', () => {
  it('/healthz is up, /readyz follows isReady', async () => {
    let ready = false;
    const { app } = await makeApp({ ready: () => ready });
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().error.code).toBe('NOT_READY');
    ready = true;
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
  });

  it('/metrics, on its own listener, counts events by platform and result, refusals and request durations', async () => {
    const { app, metrics } = await makeApp();
    await app.inject(
      post({
        events: [saleEvent({ eventId: 'a' }), saleEvent({ eventId: 'a' }), saleEvent({ eventId: 'b', quantity: 0 })],
      }),
    );
    await app.inject(post({ events: [saleEvent({ platform: 'taobao' })] }));
    // Not on the platforms' port: one platform's key must not read every platform's counts.
    for (const headers of [{}, { authorization: `Bearer ${DOUYIN_KEY}` }])
      expect((await app.inject({ url: '/metrics', headers })).statusCode).toBe(404);
    const metricsApp = buildMetricsApp(metrics);
    const scrape = await metricsApp.inject('/metrics');
    await metricsApp.close();
    expect(scrape.headers['content-type']).toContain('text/plain');
    const text = scrape.body;
    expect(text).toContain('livetally_collector_events_total{platform="douyin",result="accepted"} 1');
    expect(text).toContain('livetally_collector_events_total{platform="douyin",result="duplicate_in_batch"} 1');
    expect(text).toContain('livetally_collector_events_total{platform="douyin",result="rejected"} 1');
    expect(text).toContain('livetally_collector_event_rejections_total{platform="douyin",reason="out_of_range"} 1');
    expect(text).toContain('livetally_collector_refused_requests_total{platform="douyin",code="FORBIDDEN_PLATFORM"} 1');
    expect(text).toContain(
      'livetally_collector_http_request_duration_seconds_count{method="POST",route="/v1/events"} 2',
    );
    expect(text).toContain('livetally_collector_ready 1');
  });

  it('answers unknown routes with 404 NOT_FOUND', async () => {
    const { app } = await makeApp();
    const res = await app.inject('/v1/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});
