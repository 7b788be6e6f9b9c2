import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, parseGatewayConfig, startGateway, type RunningGateway } from '@livetally/gateway';
import { createLogger } from '@livetally/logging';
import { AUTH_ENV, KEYS, liveUrl, openLive, subscribe, type LiveConnection } from './support/gateway-auth';
import { LiveWriter, liveEvent } from './support/live-writes';
import { monitorRedis, type RedisMonitor } from './support/redis-monitor';
import { STACK, clickhouseEnv, uniqueName, within } from './support/stack';

/**
 * Request floods against the real gateway (in-process, real Redis and ClickHouse, real
 * HTTP and WebSocket): two instances sharing one Redis enforce one REST limit, lower for
 * SQL; live subscriptions are capped per token and per process; channels for scopes that
 * cannot exist are refused; and the Redis reads behind series:/windows: channels do not
 * grow with the number of channels or subscribers.
 */
const prefix = uniqueName('lt-test-floods');
const REST_LIMIT = 6;
const SQL_LIMIT = 2;
const logger = createLogger({ service: 'gateway', level: 'silent' });
const sub = (name: string, role: 'reader' | 'engineer' = 'reader') =>
  mintToken({ sub: name, role, scopes: ['*'], ttlSeconds: 600, now: Date.now() }, KEYS[0]!);
const gateways: RunningGateway[] = [];
let redis: Redis;

async function start(env: Record<string, string>, keyPrefix = prefix): Promise<RunningGateway> {
  const config = parseGatewayConfig({
    ...AUTH_ENV,
    GATEWAY_PORT: '0',
    REDIS_URL: STACK.redisUrl,
    ...clickhouseEnv(),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const gateway = await startGateway(config, logger, { keyPrefix });
  gateways.push(gateway);
  await within(
    10_000,
    'gateway ready',
    (async () => {
      while (!gateway.isReady()) await new Promise((r) => setTimeout(r, 20));
    })(),
  );
  return gateway;
}

async function get(gateway: RunningGateway, path: string, bearer?: string) {
  const res = await fetch(gateway.url + path, {
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { error?: { code: string; message: string } },
  };
}

async function sql(gateway: RunningGateway, bearer: string) {
  const res = await fetch(`${gateway.url}/v1/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'SELECT 1' }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

beforeAll(async () => {
  redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('REST limits shared by two gateway instances', () => {
  let a: RunningGateway;
  let b: RunningGateway;

  beforeAll(async () => {
    const env = {
      GATEWAY_RATE_LIMIT_PER_MINUTE: String(REST_LIMIT),
      GATEWAY_SQL_RATE_LIMIT_PER_MINUTE: String(SQL_LIMIT),
    };
    [a, b] = [await start(env), await start(env)];
  });

  it('refuses a token subject once its requests over both instances reach the one limit', async () => {
    const screen = sub('wall-screen');
    for (let i = 0; i < REST_LIMIT; i++) expect((await get(i % 2 ? b : a, '/v1/totals/all', screen)).status).toBe(200);
    for (const gateway of [a, b]) {
      const refused = await get(gateway, '/v1/totals/all', screen);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toEqual({
        code: 'RATE_LIMITED',
        message: expect.stringContaining('GATEWAY_RATE_LIMIT_PER_MINUTE'),
      });
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    }
    // Another subject, and clients without a token (by address), have budgets of their own; probes are never limited.
    expect((await get(b, '/v1/totals/all', sub('other-screen'))).status).toBe(200);
    for (let i = 0; i < REST_LIMIT; i++) expect((await get(i % 2 ? a : b, '/openapi.json')).status).toBe(200);
    expect((await get(a, '/openapi.json')).status).toBe(429);
    for (const gateway of [a, b])
      for (let i = 0; i < 10; i++) expect((await get(gateway, '/healthz')).status).toBe(200);
  });

  it('limits POST /v1/sql lower, in its own budget over both instances', async () => {
    const engineer = sub('analyst', 'engineer');
    for (let i = 0; i < SQL_LIMIT; i++) expect((await sql(i % 2 ? b : a, engineer)).status).not.toBe(429);
    const refused = await sql(a, engineer);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toEqual({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('GATEWAY_SQL_RATE_LIMIT_PER_MINUTE'),
    });
    expect((await sql(b, engineer)).status).toBe(429);
    expect((await get(b, '/v1/totals/all', engineer)).status).toBe(200); // the REST budget is untouched
  });
});

describe('live subscriptions', () => {
  let gateway: RunningGateway;
  const sockets: LiveConnection[] = [];
  const open = async (bearer: string) => {
    const socket = await openLive(liveUrl(gateway.url), { headers: { authorization: `Bearer ${bearer}` } });
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    gateway = await start(
      {
        WS_MAX_SUBSCRIPTIONS: '10',
        WS_MAX_SUBSCRIPTIONS_PER_TOKEN: '4',
        WS_MAX_SUBSCRIPTIONS_TOTAL: '6',
        GATEWAY_RATE_LIMIT_PER_MINUTE: '1000',
      },
      `${prefix}-live`,
    );
  });

  afterAll(() => {
    for (const s of sockets) s.ws.terminate();
  });

  it('caps subscriptions per token over all its connections and per process, with error frames', async () => {
    const [first, second] = [await open(sub('lobby')), await open(sub('lobby'))];
    for (const channel of ['totals:all', 'totals:city:Shenzhen', 'windows:all'])
      expect(await subscribe(first, channel)).toMatchObject({ type: 'snapshot' });
    expect(await subscribe(second, 'series:all')).toMatchObject({ type: 'snapshot' });
    expect(await subscribe(second, 'totals:district:Luohu')).toMatchObject({
      type: 'error',
      code: 'TOO_MANY_SUBSCRIPTIONS',
      message: expect.stringContaining('per token'),
    });
    const other = await open(sub('office'));
    expect(await subscribe(other, 'totals:all')).toMatchObject({ type: 'snapshot' });
    expect(await subscribe(other, 'series:city:Shenzhen')).toMatchObject({ type: 'snapshot' });
    const third = await open(sub('kiosk'));
    expect(await subscribe(third, 'totals:all')).toMatchObject({ type: 'error', code: 'GATEWAY_FULL' });
    first.ws.close(); // frees three
    await within(
      5_000,
      'subscriptions freed',
      (async () => {
        while (gateway.hub.stats().subscriptions > 3) await new Promise((r) => setTimeout(r, 20));
      })(),
    );
    expect(await subscribe(third, 'totals:all')).toMatchObject({ type: 'snapshot' });
  });

  it('refuses channels of unknown kinds and of scopes that cannot exist with INVALID_CHANNEL, and keeps the connection', async () => {
    const socket = await open(sub('prober'));
    for (const channel of [
      'series:host:h 42',
      'totals:planet:Mars',
      'windows:campaign:SPRING',
      'rankings:all:planet:gmv',
      'series:stream:' + 's'.repeat(129),
      'bogus',
      'totals:city:a\u0000b',
    ]) {
      expect(await subscribe(socket, channel), channel).toMatchObject({ type: 'error', code: 'INVALID_CHANNEL' });
    }
    socket.ws.send(JSON.stringify({ type: 'ping' }));
    await socket.waitFor((f) => f.type === 'pong', 'pong');
    expect(gateway.hub.stats().channels).toBeLessThanOrEqual(6);
  });
});

describe('Redis reads behind series: and windows: channels', () => {
  const livePrefix = `${prefix}-reads`;
  let gateway: RunningGateway;
  let monitor: RedisMonitor | undefined;
  let writer: LiveWriter;
  const commands: string[][] = [];
  const sockets: LiveConnection[] = [];

  /** Minute-bucket reads of this test's keys while `fn` runs. */
  async function bucketReadsDuring(fn: () => Promise<void>): Promise<number> {
    commands.length = 0;
    await fn();
    await new Promise((r) => setTimeout(r, 100)); // MONITOR lines trail the commands a little
    return commands.filter((c) => c[0]?.toLowerCase() === 'hgetall' && c[1]?.startsWith(`${livePrefix}:m:`)).length;
  }

  async function watch(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const socket = await openLive(liveUrl(gateway.url), {
        headers: { authorization: `Bearer ${sub(`screen-${sockets.length}`)}` },
      });
      sockets.push(socket);
      for (const channel of ['series:all', 'windows:all'])
        socket.ws.send(JSON.stringify({ type: 'subscribe', channel }));
      await socket.waitFor((f) => f.type === 'snapshot' && f.channel === 'windows:all', 'windows snapshot');
      await socket.waitFor((f) => f.type === 'snapshot' && f.channel === 'series:all', 'series snapshot');
    }
  }

  const ticks = (n: number) => new Promise<void>((r) => setTimeout(r, n * 100));

  beforeAll(async () => {
    writer = await new LiveWriter(redis, livePrefix).init();
    await writer.apply([liveEvent('sale', Date.now()), liveEvent('view', Date.now() - 5 * 60_000)]);
    gateway = await start({ LIVE_TICK_MS: '100', GATEWAY_RATE_LIMIT_PER_MINUTE: '1000' }, livePrefix);
    monitor = await monitorRedis(STACK.redisUrl, (args) => {
      if (args.some((a) => a.startsWith(livePrefix))) commands.push(args);
    });
  });

  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    monitor?.close();
  });

  it('reads nothing per tick for an unchanged scope, with 1 or 21 subscribers', async () => {
    await watch(1);
    const one = await bucketReadsDuring(() => ticks(10));
    await watch(20);
    const many = await bucketReadsDuring(() => ticks(10));
    // At most the minute that enters the window (and the next one) if a minute turns meanwhile;
    // before the window cache, 10 ticks of these two channels read 10 × (120 + 60) buckets.
    expect(one).toBeLessThanOrEqual(2);
    expect(many).toBeLessThanOrEqual(2);
  });

  it('reads a changed scope once per push, its recent buckets only, and every subscriber gets the exact values', async () => {
    const reads = await bucketReadsDuring(async () => {
      await writer.apply([liveEvent('sale', Date.now(), { amountFen: 777 })]);
      for (const socket of sockets)
        await socket.waitFor(
          (f) => f.type === 'update' && f.channel === 'windows:all' && JSON.stringify(f).includes('"salesFen":2776'),
          'updated window',
        );
      await ticks(5);
    });
    expect(reads).toBeGreaterThanOrEqual(3);
    expect(reads).toBeLessThanOrEqual(3 + 2); // the recent transaction, and a minute turning
    expect(sockets).toHaveLength(21);
  });
});
