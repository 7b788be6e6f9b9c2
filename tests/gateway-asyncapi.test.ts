import { Ajv, type ValidateFunction } from 'ajv';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closed } from '@livetally/api-docs/testing';
import { parseGatewayConfig, startGateway, type RunningGateway } from '@livetally/gateway';
import { createLogger } from '@livetally/logging';
import { within } from './support/stack';
import { LiveWriter, liveEvent } from './support/live-writes';

// The gateway's AsyncAPI document against the gateway itself: a real gateway on real
// Redis, a real WebSocket client, and every frame it receives validated against the
// message schemas of the document the same gateway serves at GET /asyncapi.json.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lt-test-asyncapi-${process.pid}-${Date.now()}`;
const WAIT_MS = 8_000;
const CHANNELS = ['totals:all', 'windows:all', 'series:all', 'rankings:all:district:gmv'];

type Frame = { type: string; channel?: string; code?: string };
type AsyncApiDoc = {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<
    string,
    { action: string; messages: { $ref: string }[]; reply?: { messages: { $ref: string }[] } }
  >;
  components: { messages: Record<string, { payload: { properties: { type: { const: string } } } }> };
};

let redis: Redis;
let writer: LiveWriter;
let gateway: RunningGateway;
let doc: AsyncApiDoc;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "#/channels/live/messages/snapshot" → the component message it points to. */
function messageOf(ref: string) {
  const name = ref.split('/').pop()!;
  const channelRef = doc.channels.live!.messages[name]!.$ref;
  return doc.components.messages[channelRef.split('/').pop()!]!;
}

/** Validators of the frames the document says the gateway sends (send operations and replies), by frame type. */
function serverFrameValidators(ajv: Ajv): Map<string, ValidateFunction> {
  const refs = Object.values(doc.operations).flatMap((op) =>
    op.action === 'send' ? op.messages : (op.reply?.messages ?? []),
  );
  return new Map(
    refs.map((ref) => {
      const payload = messageOf(ref.$ref).payload;
      return [payload.properties.type.const, ajv.compile(closed(payload))];
    }),
  );
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined); // surfaced by the ping below instead
  await within(
    WAIT_MS,
    `Redis at ${REDIS_URL}`,
    redis.connect().then(() => redis.ping()),
  );
  writer = await new LiveWriter(redis, PREFIX).init();
  await writer.apply([liveEvent('view', Date.now()), liveEvent('sale', Date.now())]);
  const config = parseGatewayConfig({
    GATEWAY_AUTH: 'off',
    GATEWAY_PORT: '0',
    REDIS_URL,
    LIVE_TICK_MS: '200',
    LOG_LEVEL: 'silent',
  });
  gateway = await startGateway(config, createLogger({ service: 'gateway', level: 'silent' }), { keyPrefix: PREFIX });
  const deadline = Date.now() + WAIT_MS;
  while (!gateway.isReady()) {
    if (Date.now() > deadline) throw new Error('gateway did not become ready');
    await sleep(20);
  }
  doc = (await (await fetch(`${gateway.url}/asyncapi.json`)).json()) as AsyncApiDoc;
});

afterAll(async () => {
  await gateway?.stop();
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
});

describe('the /v1/live protocol against its AsyncAPI document', () => {
  it('sends only frames the document describes: snapshots and updates of every channel kind, errors and pongs', async () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.channels.live!.address).toBe('/v1/live');
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validators = serverFrameValidators(ajv);
    expect([...validators.keys()].sort()).toEqual(['error', 'pong', 'snapshot', 'update']);

    const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/v1/live`);
    const frames: Frame[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
    await within(
      WAIT_MS,
      'websocket open',
      new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)),
    );
    try {
      const has = (type: string, channel?: string) =>
        frames.some((f) => f.type === type && (channel === undefined || f.channel === channel));
      for (const channel of CHANNELS) ws.send(JSON.stringify({ type: 'subscribe', channel }));
      ws.send(JSON.stringify({ type: 'subscribe', channel: 'views:all' })); // INVALID_CHANNEL
      ws.send('not json'); // INVALID_JSON
      ws.send(JSON.stringify({ type: 'hello' })); // UNKNOWN_TYPE
      ws.send(JSON.stringify({ type: 'ping' }));
      const deadline = Date.now() + WAIT_MS;
      while (!CHANNELS.every((c) => has('snapshot', c)) || !has('pong')) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(frames).slice(0, 2000)}`);
        await sleep(20);
      }
      // New events move every channel: an update of each arrives within a few ticks.
      await writer.apply([liveEvent('sale', Date.now(), { district: 'Futian' }), liveEvent('view', Date.now())]);
      while (!CHANNELS.every((c) => has('update', c))) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for updates; got ${JSON.stringify(frames).slice(-2000)}`);
        await sleep(20);
      }
    } finally {
      ws.terminate();
    }

    expect(
      frames
        .filter((f) => f.type === 'error')
        .map((f) => f.code)
        .sort(),
    ).toEqual(['INVALID_CHANNEL', 'INVALID_JSON', 'UNKNOWN_TYPE']);
    for (const frame of frames) {
      const validate = validators.get(frame.type);
      expect(validate, `a ${frame.type} frame, which the document does not describe`).toBeDefined();
      expect(validate!(frame), `${JSON.stringify(frame).slice(0, 300)}: ${ajv.errorsText(validate!.errors)}`).toBe(
        true,
      );
    }
  });

  it('describes what clients send the same way the gateway reads it', async () => {
    const ajv = new Ajv({ strict: false });
    const received = Object.values(doc.operations).filter((op) => op.action === 'receive');
    const client = received.flatMap((op) => op.messages).map((ref) => messageOf(ref.$ref).payload);
    expect(client.map((p) => p.properties.type.const).sort()).toEqual(['ping', 'subscribe', 'unsubscribe']);
    const check = (frame: object) => client.some((payload) => ajv.validate(payload, frame));
    expect(check({ type: 'subscribe', channel: 'totals:all' })).toBe(true);
    expect(check({ type: 'ping' })).toBe(true);
    expect(check({ type: 'subscribe' })).toBe(false);
    expect(check({ type: 'hello' })).toBe(false);
  });
});
