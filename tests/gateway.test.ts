import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RedisCounterStore, partitionTag, type Totals } from '@livetally/live-state';
import { parseGatewayConfig, startGateway, type RunningGateway } from '@livetally/gateway';
import { createLogger } from '@livetally/logging';
import { within } from './support/stack';

// Runs the real gateway (real Redis, real change subscription, real HTTP and WebSocket
// server on a free port) against a unique key prefix, and writes totals the way the
// ingest worker does: RedisCounterStore.applyBatch, which PUBLISHes the changed scopes.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lt-test-gw-${process.pid}-${Date.now()}`;
const TICK_MS = 400;
const WAIT_MS = 5_000;
const BAOAN = "district:Bao'an";

type Frame = { type: string; channel?: string; code?: string; data?: Totals; seq?: number };

/** A ws client that records frames; every wait is bounded. */
class LiveClient {
  readonly frames: Frame[] = [];
  private consumed = 0;
  pings = 0;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    ws.on('ping', () => this.pings++);
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async connect(url: string): Promise<LiveClient> {
    const ws = new WebSocket(url);
    const client = new LiveClient(ws);
    await within(
      WAIT_MS,
      'websocket open',
      new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)),
    );
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Next not-yet-taken frame (in arrival order) that matches. */
  async take(match: (f: Frame) => boolean, what: string, ms = WAIT_MS): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f, idx) => idx >= this.consumed && match(f));
      if (i >= 0) {
        this.consumed = i + 1;
        return this.frames[i]!;
      }
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(this.frames.slice(this.consumed))}`,
        );
      await sleep(10);
    }
  }

  updatesFor(channel: string): Frame[] {
    return this.frames.filter((f) => f.type === 'update' && f.channel === channel);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let writerRedis: Redis;
let writer: RedisCounterStore;
let gateway: RunningGateway;
let wsUrl: string;
let offset = -1;
let ownerGen = 0;

async function applyBatch(deltas: Record<string, Partial<Totals>>): Promise<void> {
  const input = {
    topic: 'gateway-test',
    partition: 0,
    ownerGen,
    expectedOffset: String(offset),
    newOffset: String(offset + 1),
    deltas: new Map(Object.entries(deltas)),
  };
  expect(await writer.applyBatch(input)).toEqual({ applied: true });
  offset++;
}

async function totalsOf(scope: string): Promise<Totals> {
  return (await writer.readTotals([scope])).get(scope)!;
}

beforeAll(async () => {
  writerRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  writerRedis.on('error', () => undefined); // surfaced by the ping below instead
  await within(
    WAIT_MS,
    `Redis at ${REDIS_URL} (start one: redis-server --port 6379 --daemonize yes --save '')`,
    writerRedis.connect().then(() => writerRedis.ping()),
  );
  writer = new RedisCounterStore(writerRedis, { prefix: PREFIX });
  await writerRedis.set(writer.keys.liveState(partitionTag('gateway-test', 0)), 'ready'); // as a fresh deployment's first worker does
  ownerGen = (await writer.takePartition('gateway-test', 0, 0)).gen;
  await applyBatch({
    all: { views: 10, sessions: 2, salesFen: 123_456_789_012, orders: 3, items: 5 },
    [BAOAN]: { views: 4, salesFen: 19_999, orders: 1, items: 1 },
  });

  const config = parseGatewayConfig({
    GATEWAY_AUTH: 'off',
    GATEWAY_PORT: '0',
    REDIS_URL,
    LIVE_TICK_MS: String(TICK_MS),
    WS_HEARTBEAT_MS: '1000',
    LOG_LEVEL: 'silent',
  });
  gateway = await startGateway(config, createLogger({ service: 'gateway', level: 'silent' }), { keyPrefix: PREFIX });
  wsUrl = `${gateway.url.replace('http', 'ws')}/v1/live`;
  const deadline = Date.now() + WAIT_MS;
  while (!gateway.isReady()) {
    if (Date.now() > deadline) throw new Error('gateway did not become ready');
    await sleep(20);
  }
});

afterAll(async () => {
  await gateway?.stop();
  const keys = await writerRedis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await writerRedis.del(...keys);
  writerRedis?.disconnect();
});

describe('gateway against real Redis', () => {
  it('is ready and serves exact totals over HTTP, URL-decoding the scope', async () => {
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    const res = await fetch(`${gateway.url}/v1/totals/${encodeURIComponent(BAOAN)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ scope: BAOAN, totals: await totalsOf(BAOAN) });
    expect((await fetch(`${gateway.url}/v1/totals/planet:Mars`)).status).toBe(400);
  });

  it('sends a snapshot, then one coalesced update per tick with the new exact totals', async () => {
    const client = await LiveClient.connect(wsUrl);
    client.send({ type: 'subscribe', channel: 'totals:all' });
    client.send({ type: 'subscribe', channel: `totals:${BAOAN}` });
    const snapAll = await client.take((f) => f.type === 'snapshot' && f.channel === 'totals:all', 'snapshot of all');
    const snapBaoan = await client.take(
      (f) => f.type === 'snapshot' && f.channel === `totals:${BAOAN}`,
      "snapshot of Bao'an",
    );
    expect(snapAll.data).toMatchObject(await totalsOf('all'));
    expect(snapAll.data).toMatchObject({
      netSalesFen: snapAll.data!.salesFen - snapAll.data!.refundsFen,
      liveSessions: snapAll.data!.sessions - snapAll.data!.sessionsEnded,
    });
    expect(snapAll.data).toMatchObject({ salesFen: 123_456_789_012, views: 10 });
    expect(snapBaoan.data).toMatchObject(await totalsOf(BAOAN));

    await applyBatch({ all: { salesFen: 1, orders: 1 }, [BAOAN]: { refunds: 1, refundsFen: 500 } });
    const first = await client.take((f) => f.type === 'update' && f.channel === 'totals:all', 'first update');
    expect(first.data).toMatchObject(await totalsOf('all'));
    expect(first.data).toMatchObject({ salesFen: 123_456_789_013, orders: 4 });
    expect(first.seq).toBeGreaterThan(snapAll.seq!);
    expect(
      (await client.take((f) => f.type === 'update' && f.channel === `totals:${BAOAN}`, "Bao'an update")).data,
    ).toMatchObject({ refundsFen: 500 });

    // The update just arrived, so a tick has just run: three quick batches land inside the next tick.
    const before = client.updatesFor('totals:all').length;
    for (let i = 0; i < 3; i++) await applyBatch({ all: { views: 1, salesFen: 100 } });
    const coalesced = await client.take((f) => f.type === 'update' && f.channel === 'totals:all', 'coalesced update');
    expect(coalesced.data).toMatchObject(await totalsOf('all'));
    expect(coalesced.data).toMatchObject({ views: 13, salesFen: 123_456_789_313 });
    expect(coalesced.seq).toBe(first.seq! + 1);
    await sleep(TICK_MS * 2.5); // nothing changed since: no further update may arrive
    expect(client.updatesFor('totals:all').length).toBe(before + 1);
    client.ws.terminate();
  });

  it('answers bad frames with error frames and keeps the connection open', async () => {
    const client = await LiveClient.connect(wsUrl);
    const cases: [unknown, string][] = [
      ['not json', 'INVALID_JSON'],
      [{ type: 'dance' }, 'UNKNOWN_TYPE'],
      [{ type: 'subscribe', channel: 'totals:planet:Mars' }, 'INVALID_CHANNEL'],
      [JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }), 'FRAME_TOO_LARGE'],
      [Buffer.from([1, 2, 3]), 'BAD_FRAME'],
    ];
    for (const [frame, code] of cases) {
      client.send(frame);
      expect(await client.take((f) => f.type === 'error', `error ${code}`)).toMatchObject({ code });
    }
    client.send({ type: 'ping' });
    await client.take((f) => f.type === 'pong', 'pong');
    client.send({ type: 'subscribe', channel: 'totals:all' });
    await client.take((f) => f.type === 'snapshot', 'snapshot after errors');
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.terminate();
  });

  it('pings clients for liveness', async () => {
    const client = await LiveClient.connect(wsUrl);
    const deadline = Date.now() + 3_000;
    while (client.pings === 0 && Date.now() < deadline) await sleep(20);
    expect(client.pings).toBeGreaterThan(0);
    expect(client.ws.readyState).toBe(WebSocket.OPEN); // ws answers pings itself, so it stays connected
    client.ws.terminate();
  });

  it('stops once: readiness off, sockets closed with 1001', async () => {
    const client = await LiveClient.connect(wsUrl);
    const stopping = gateway.stop();
    expect(gateway.isReady()).toBe(false);
    expect(gateway.stop()).toBe(stopping);
    await within(WAIT_MS, 'gateway stop', stopping);
    const deadline = Date.now() + WAIT_MS;
    while (client.closeCode === undefined && Date.now() < deadline) await sleep(10);
    expect(client.closeCode).toBe(1001);
  });
});
