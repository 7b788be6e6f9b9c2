import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCS_CONTENT_SECURITY_POLICY, DOCS_PREFIX } from '@livetally/api-docs';
import {
  answerChecker,
  assertValidOpenApi,
  documentedOperations,
  registeredOperations,
  type OpenApiDoc,
} from '@livetally/api-docs/testing';
import { eventJsonSchema } from '@livetally/events';
import { createLogger } from '@livetally/logging';
import { ApiKeyring } from './api-keys';
import { buildCollectorApp } from './app';
import { SinkUnavailableError } from './kafka-sink';
import { SharedPlatformLimiter } from './platform-limit';
import { DOUYIN_KEY, MemorySink, NOW, saleEvent } from './testing/fakes';

type Op = {
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { headers?: object; content?: Record<string, { schema: unknown }> }>;
};
type Doc = OpenApiDoc & {
  info: { title: string };
  components: { securitySchemes: Record<string, object> };
  paths: Record<string, Record<string, Op>>;
};

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function make(options: { ready?: boolean; burst?: number } = {}) {
  const sink = new MemorySink();
  app = await buildCollectorApp({
    sink,
    keys: new ApiKeyring([{ platform: 'douyin', key: DOUYIN_KEY }]),
    limiter: new SharedPlatformLimiter({
      eventsPerSecond: 1,
      burst: options.burst ?? 1_000_000,
      keyPrefix: 'test',
    }),
    limits: { maxBatchEvents: 10, maxBodyBytes: 64 * 1024 },
    isReady: () => options.ready ?? true,
    logger: createLogger({ service: 'collector', level: 'silent' }),
    now: () => NOW,
  });
  const res = await app.inject('/openapi.json');
  expect(res.statusCode).toBe(200);
  return { app, sink, doc: res.json() as Doc };
}

const post = (body: unknown, key: string | null = DOUYIN_KEY) => ({
  method: 'POST' as const,
  url: '/v1/events',
  headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  payload: JSON.stringify(body),
});

describe('GET /openapi.json (collector)', () => {
  it('is a valid OpenAPI 3 document that lists every route fastify has', async () => {
    const { app, doc } = await make();
    await assertValidOpenApi(doc);
    expect(doc.info.title).toBe('LiveTally collector');
    const registered = registeredOperations(app, (url) => url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`));
    expect(registered).toEqual([
      'GET /healthz',
      'GET /openapi.json',
      'GET /readyz',
      'GET /v1/schema/event.json',
      'POST /v1/events',
    ]);
    expect(documentedOperations(doc)).toEqual(registered);
  });

  it('documents the batch body, the API key schemes and every error in the shared body', async () => {
    const { doc } = await make();
    const events = doc.paths['/v1/events']!.post!;
    expect(events.security).toEqual([{ apiKeyBearer: [] }, { apiKeyHeader: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKeyBearer', 'apiKeyHeader']);
    expect(JSON.stringify(events.requestBody!.content['application/json']!.schema)).toContain('"events"');
    expect(Object.keys(events.responses).sort()).toEqual(
      ['200', '207', '400', '401', '403', '413', '415', '429', '500', '503', 'default'].sort(),
    );
    expect(events.responses['429']!.headers).toHaveProperty('Retry-After');
    expect(JSON.stringify(events.responses['413'])).toContain('TOO_LARGE_FOR_KAFKA');
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
  });

  it('matches real answers: accepted, partly rejected and refused batches validate against it', async () => {
    const { app, sink, doc } = await make();
    const check = answerChecker(doc);
    const answers: [ReturnType<typeof post> | string, number][] = [
      [post({ events: [saleEvent()] }), 200],
      [post([saleEvent({ eventId: 'e-2' }), { ...saleEvent({ eventId: 'e-3' }), amountFen: -1 }, 42]), 207],
      [post({ events: [] }), 400],
      [post({ events: [saleEvent({ eventId: 'e-4' })] }, 'not-a-key'), 401],
      [post({ events: [saleEvent({ eventId: 'e-5', platform: 'taobao' })] }), 403],
      [post({ events: Array.from({ length: 11 }, (_, i) => saleEvent({ eventId: `m-${i}` })) }), 413],
      ['/healthz', 200],
      ['/readyz', 200],
    ];
    for (const [request, status] of answers) {
      const res = await app.inject(request);
      const method = typeof request === 'string' ? 'GET' : 'POST';
      const path = typeof request === 'string' ? request : '/v1/events';
      expect(res.statusCode, JSON.stringify(request).slice(0, 120)).toBe(status);
      check(method, path, res.statusCode, res.json());
    }
    sink.failWith = new SinkUnavailableError('kafka away', 2000);
    const unavailable = await app.inject(post({ events: [saleEvent({ eventId: 'e-6' })] }));
    expect([unavailable.statusCode, unavailable.headers['retry-after']]).toEqual([503, '2']);
    check('POST', '/v1/events', 503, unavailable.json());
  });

  it('serves the event JSON Schema without a key, as documented, and points the batch body at it', async () => {
    const { app, doc } = await make();
    const res = await app.inject('/v1/schema/event.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/schema+json; charset=utf-8');
    expect(res.json()).toEqual(eventJsonSchema());
    const op = doc.paths['/v1/schema/event.json']!.get!;
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses['200']!.content!)).toEqual(['application/schema+json']);
    expect(JSON.stringify(doc.paths['/v1/events']!.post!.requestBody)).toContain('/v1/schema/event.json');
  });

  it('answers 503 NOT_READY from /readyz as documented, and serves Swagger UI under its own CSP', async () => {
    const { app, doc } = await make({ ready: false });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    answerChecker(doc)('GET', '/readyz', 503, res.json());
    const page = await app.inject(DOCS_PREFIX);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toBe(DOCS_CONTENT_SECURITY_POLICY);
    expect((await app.inject('/docs/static/swagger-ui-bundle.js')).statusCode).toBe(200);
    expect((await app.inject('/docs/json')).json()).toEqual(doc);
  });
});
