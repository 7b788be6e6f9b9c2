import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { closed } from '@livetally/api-docs/testing';
import { mintToken } from '../auth/token';
import { makeApiApp } from '../testing/api-fakes';
import { buildAsyncApi } from './asyncapi';
import { CLIENT_MESSAGE_SCHEMAS } from './frame-schemas';
import { parseClientMessage } from './protocol';

type Message = { payload: object; examples: { payload: unknown }[] };

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('the AsyncAPI document of /v1/live', () => {
  const doc = buildAsyncApi();
  const messages = doc.components.messages as Record<string, Message>;

  it('is a valid AsyncAPI 3.0.0 document (checked with the specification JSON Schema)', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false });
    const validate = ajv.compile(specs.schemasWithoutId['3.0.0']);
    expect(validate(doc), ajv.errorsText(validate.errors)).toBe(true);
    // The check has teeth: an operation without its action is refused.
    const broken = structuredClone(doc) as { operations: Record<string, { action?: string }> };
    delete broken.operations.subscribe!.action;
    expect(validate(broken)).toBe(false);
  });

  it('has one message per frame type, each example matching its own payload schema', () => {
    expect(Object.keys(messages).sort()).toEqual([
      'error',
      'ping',
      'pong',
      'snapshot',
      'subscribe',
      'unsubscribe',
      'update',
    ]);
    const ajv = new Ajv({ strict: false });
    for (const [name, message] of Object.entries(messages)) {
      const validate = ajv.compile(closed(message.payload));
      expect(message.examples.length, name).toBeGreaterThan(0);
      for (const { payload } of message.examples)
        expect(validate(payload), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('describes snapshot data by channel kind, so a frame with the wrong shape fails', () => {
    const validate = new Ajv({ strict: false }).compile(closed(messages.snapshot!.payload));
    const frame = { type: 'snapshot', channel: 'rankings:all:city:gmv', seq: 1, ts: 1 };
    expect(validate({ ...frame, data: { top: [{ name: 'Shenzhen', value: 3 }], members: 1 } })).toBe(true);
    expect(validate({ ...frame, data: { views: 1 } })).toBe(false);
    expect(validate({ ...frame, channel: 'totals:all', data: { top: [], members: 0 } })).toBe(false);
  });
});

describe('client messages', () => {
  it('are parsed by their own schemas: every listed type is accepted, anything they refuse is refused', () => {
    for (const example of [
      { type: 'subscribe', channel: 'totals:all' },
      { type: 'unsubscribe', channel: 'totals:all' },
      { type: 'ping' },
    ])
      expect(parseClientMessage(JSON.stringify(example))).toEqual({ ok: true, message: example });
    expect(Object.keys(CLIENT_MESSAGE_SCHEMAS).sort()).toEqual(['ping', 'subscribe', 'unsubscribe']);
    expect(parseClientMessage('{"type":"subscribe","channel":42}')).toMatchObject({
      ok: false,
      code: 'INVALID_CHANNEL',
    });
    expect(parseClientMessage('{"type":"unsubscribe"}')).toMatchObject({ ok: false, code: 'INVALID_CHANNEL' });
    expect(parseClientMessage('{"type":"constructor"}')).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' });
    expect(parseClientMessage('{"type":"hello"}')).toMatchObject({
      ok: false,
      code: 'UNKNOWN_TYPE',
      message: expect.stringContaining('subscribe, unsubscribe, ping'),
    });
  });
});

describe('GET /asyncapi.json', () => {
  it('serves the document without a token', async () => {
    const key = { kid: 'k1', secret: 'unit-test-secret-that-is-long-enough' };
    app = await makeApiApp({ auth: { keys: [key], clockSkewSeconds: 30, metricsPublic: false } });
    const res = await app.inject('/asyncapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(buildAsyncApi())));
    // A route beside it still needs one: the open rule is for the document only.
    expect((await app.inject('/v1/totals/all')).statusCode).toBe(401);
    const reader = mintToken({ sub: 'r', role: 'reader', scopes: ['*'], ttlSeconds: 60, now: Date.now() }, key);
    expect(
      (await app.inject({ url: '/v1/totals/all', headers: { authorization: `Bearer ${reader}` } })).statusCode,
    ).toBe(200);
  });
});
