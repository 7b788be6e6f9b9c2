import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisOwnerQuota, mintToken } from '@livetally/gateway';
import { LiveStateReader } from '@livetally/live-state';
import { startRedis, type DedicatedService } from './support/dedicated';
import { AUTH_ENV, KEYS, liveUrl, openLive, subscribe, type Frame, type LiveConnection } from './support/gateway-auth';
import { createHistoryDatabase } from './support/gateway-history';
import { LiveWriter, liveEvent } from './support/live-writes';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, clickhouseEnv, deletePrefix, freePort, uniqueName, waitFor } from './support/stack';

/**
 * Several gateways behind one load balancer: two real gateway processes on one Redis key
 * prefix serve the same screens. Both push the same figures for the same writes; a token's
 * live subscriptions and its REST requests are counted over both, so spreading over them
 * gives no extra quota; a killed gateway's share of a token's subscriptions is released one
 * WS_SUBSCRIPTION_SHARE_TTL_MS later, a stopped one's at once. Campaign changes on two
 * gateways at once are covered by tests/campaign-backfill.test.ts (one lease, fenced).
 */
const prefix = uniqueName('lt-test-fleet');
const TOKEN_CAP = 3;
const SHARE_TTL_MS = 3_000;
const REST_LIMIT = 6;
const CHANNELS = ['totals:all', 'totals:district:Luohu', 'rankings:all:district:gmv'];
const DISTRICTS = ['Luohu', 'Futian', 'Nanshan', "Bao'an"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bearer = (sub: string) =>
  mintToken({ sub, role: 'reader', scopes: ['*'], ttlSeconds: 600, now: Date.now() }, KEYS[0]!);

interface FleetGateway {
  url: string;
  process: ServiceProcess;
}

let redis: Redis;
let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
const sockets: LiveConnection[] = [];
const gateways: FleetGateway[] = [];

async function startFleetGateway(): Promise<FleetGateway> {
  const port = await freePort();
  const process = startService('gateway', {
    ...AUTH_ENV,
    GATEWAY_PORT: String(port),
    REDIS_URL: STACK.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    ...clickhouseEnv(),
    CLICKHOUSE_DATABASE: db.database,
    LIVE_TICK_MS: '200',
    WS_MAX_SUBSCRIPTIONS_PER_TOKEN: String(TOKEN_CAP),
    WS_SUBSCRIPTION_SHARE_TTL_MS: String(SHARE_TTL_MS),
    GATEWAY_RATE_LIMIT_PER_MINUTE: String(REST_LIMIT),
  });
  const gateway = { url: `http://127.0.0.1:${port}`, process };
  gateways.push(gateway);
  await waitFor(
    'gateway /readyz',
    async () => {
      if (process.child.exitCode !== null) throw new Error(`gateway exited: ${process.output().slice(-2000)}`);
      return (await fetch(`${gateway.url}/readyz`, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok;
    },
    30_000,
    100,
  );
  return gateway;
}

async function screen(gateway: FleetGateway, sub: string): Promise<LiveConnection> {
  const socket = await openLive(liveUrl(gateway.url), { headers: { authorization: `Bearer ${bearer(sub)}` } });
  sockets.push(socket);
  return socket;
}

/** The last snapshot or update a screen got on a channel. */
const latest = (socket: LiveConnection, channel: string): Frame | undefined =>
  socket.frames.filter((f) => f.channel === channel && (f.type === 'snapshot' || f.type === 'update')).at(-1);

beforeAll(async () => {
  redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
  db = await createHistoryDatabase('fleet');
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await Promise.all(gateways.map((g) => g.process.stop()));
  await deletePrefix(redis, prefix);
  redis?.disconnect();
  await db?.drop();
});

describe('two gateway processes on one Redis key prefix', () => {
  let a: FleetGateway;
  let b: FleetGateway;
  let writer: LiveWriter;

  beforeAll(async () => {
    writer = await new LiveWriter(redis, prefix).init();
    await writer.apply([liveEvent('sale', Date.now()), liveEvent('view', Date.now())]);
    [a, b] = await Promise.all([startFleetGateway(), startFleetGateway()]);
  }, 60_000);

  it('push the same figures to screens on either while events arrive; one gateway gives one value one seq', async () => {
    const screens = [await screen(a, 'wall-1'), await screen(a, 'wall-2'), await screen(b, 'wall-3')];
    screens.push(await screen(b, 'wall-4'));
    for (const s of screens)
      for (const channel of CHANNELS) expect(await subscribe(s, channel)).toMatchObject({ type: 'snapshot' });

    for (let i = 0; i < 30; i++) {
      const now = Date.now();
      await writer.apply(
        Array.from({ length: 20 }, (_, j) =>
          liveEvent(j % 3 ? 'view' : 'sale', now, { district: DISTRICTS[(i + j) % DISTRICTS.length]! }),
        ),
      );
      await sleep(30);
    }

    const live = new LiveStateReader(redis, prefix);
    const measures = await live.measures(['all', 'district:Luohu']);
    const want: Record<string, unknown> = {
      'totals:all': measures.get('all'),
      'totals:district:Luohu': measures.get('district:Luohu'),
      'rankings:all:district:gmv': await live.ranking('all', 'district', 'gmv'),
    };
    expect(want['totals:all']).toMatchObject({ orders: 1 + 30 * 7, views: 1 + 30 * 13 });
    await waitFor(
      'every screen on both gateways showing the final figures',
      async () => screens.every((s) => CHANNELS.every((c) => isDeepStrictEqual(latest(s, c)?.data, want[c]))),
      10_000,
      50,
    ).catch((err) => {
      const shown = screens.map((s) => CHANNELS.map((c) => latest(s, c)));
      throw new Error(`${(err as Error).message}\nwant ${JSON.stringify(want)}\nshown ${JSON.stringify(shown)}`);
    });
    for (const s of screens) {
      // The figures arrived as pushes, not only as the first snapshot, each newer than the last.
      expect(s.frames.filter((f) => f.type === 'update' && f.channel === 'totals:all').length).toBeGreaterThan(0);
      for (const c of CHANNELS) {
        const seqs = s.frames.filter((f) => f.channel === c).map((f) => f.seq!);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        expect(new Set(seqs).size).toBe(seqs.length);
      }
    }
    // seq counts the changes one gateway saw, so screens of one gateway agree on it; another gateway counts its own.
    for (const c of CHANNELS) {
      expect(latest(screens[0]!, c)!.seq).toBe(latest(screens[1]!, c)!.seq);
      expect(latest(screens[2]!, c)!.seq).toBe(latest(screens[3]!, c)!.seq);
    }
  });

  it("count a token's REST requests over both gateways against one GATEWAY_RATE_LIMIT_PER_MINUTE", async () => {
    const token = bearer('rest-client');
    const get = async (gateway: FleetGateway) =>
      fetch(`${gateway.url}/v1/totals/all`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      });
    for (let i = 0; i < REST_LIMIT; i++) expect((await get(i % 2 ? b : a)).status).toBe(200);
    for (const gateway of [a, b]) {
      const refused = await get(gateway);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    }
  });

  it("count a token's live subscriptions over both gateways; a killed gateway's share is released one TTL later", async () => {
    const [onA, onB] = [await screen(a, 'lobby'), await screen(b, 'lobby')];
    expect(await subscribe(onA, 'totals:all')).toMatchObject({ type: 'snapshot' });
    expect(await subscribe(onA, 'totals:city:Shenzhen')).toMatchObject({ type: 'snapshot' });
    expect(await subscribe(onB, 'totals:district:Luohu')).toMatchObject({ type: 'snapshot' });
    // 2 on A + 1 on B reach the cap of 3: the 4th is refused wherever it is asked for.
    for (const socket of [onB, onA])
      expect(await subscribe(socket, 'totals:district:Futian')).toMatchObject({
        type: 'error',
        code: 'TOO_MANY_SUBSCRIPTIONS',
        message: expect.stringContaining('every gateway'),
      });
    // Another token has its own budget on the same gateways.
    expect(await subscribe(await screen(b, 'kiosk'), 'totals:district:Futian')).toMatchObject({ type: 'snapshot' });

    // A frees one: B may take it (A's give reaches Redis right after the unsubscribe).
    onA.ws.send(JSON.stringify({ type: 'unsubscribe', channel: 'totals:city:Shenzhen' }));
    await waitFor(
      'the freed subscription taken on B',
      async () => (await subscribe(onB, 'totals:district:Futian')).type === 'snapshot',
      5_000,
      100,
    );

    // B dies holding 2 of the token's subscriptions, without closing its sockets.
    b.process.child.kill('SIGKILL');
    await b.process.exited;
    const killedAt = Date.now();
    expect(await subscribe(onA, 'totals:district:Nanshan')).toMatchObject({
      type: 'error',
      code: 'TOO_MANY_SUBSCRIPTIONS',
    });
    expect(Date.now() - killedAt).toBeLessThan((SHARE_TTL_MS * 2) / 3); // so the refusal above came from B's share
    await waitFor(
      "the killed gateway's share released",
      async () => (await subscribe(onA, 'totals:district:Nanshan')).type === 'snapshot',
      SHARE_TTL_MS + 5_000,
      250,
    );
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(SHARE_TTL_MS / 3);
    expect(await subscribe(onA, "totals:district:Bao'an")).toMatchObject({ type: 'snapshot' });
    expect(await subscribe(onA, 'totals:city:Shenzhen')).toMatchObject({
      type: 'error',
      code: 'TOO_MANY_SUBSCRIPTIONS',
    });

    // A stopped gateway gives its shares back at once.
    expect(await a.process.stop('SIGTERM')).toBe(0);
    expect(await redis.exists(`${prefix}:ws:subs:lobby`)).toBe(0);
  });
});

describe('RedisOwnerQuota on the real Redis', () => {
  const keyPrefix = `${prefix}:quota`;
  const quotas: RedisOwnerQuota[] = [];
  const quota = (client: Redis, options: { ttlMs?: number; timeoutMs?: number } = {}) => {
    const q = new RedisOwnerQuota({ redis: client, keyPrefix, max: 3, ttlMs: 1_500, ...options });
    quotas.push(q);
    return q;
  };
  const share = async (q: RedisOwnerQuota, owner: string) => redis.hget(`${keyPrefix}:${owner}`, q.instance);

  afterAll(async () => {
    await Promise.all(quotas.map((q) => q.close()));
  });

  it('counts an owner over instances, drops a share one TTL after its last write, and rewrites a lost one', async () => {
    const [live, dead] = [quota(redis), quota(redis)];
    live.start(); // the dead one never refreshes, like a process killed after its last write
    expect(await dead.take('wall')).toBe('ok');
    expect(await dead.take('wall')).toBe('ok');
    expect(await live.take('wall')).toBe('ok');
    expect(await live.take('wall')).toBe('full');
    expect(await live.take('other')).toBe('ok');
    await sleep(1_700);
    expect(await live.take('wall')).toBe('ok');
    expect(await live.take('wall')).toBe('ok');
    expect(await live.take('wall')).toBe('full');
    expect(await share(dead, 'wall')).toBeNull(); // removed by the take that found it expired
    await sleep(1_700); // the live one's refresh keeps its share past the TTL
    expect(await share(live, 'wall')).toMatch(/^3:\d+$/);
    await redis.del(`${keyPrefix}:wall`); // as if Redis came back empty
    await waitFor('the share rewritten', async () => (await share(live, 'wall'))?.startsWith('3:'), 2_000, 50);
    live.give('wall');
    await waitFor('the give written', async () => (await share(live, 'wall'))?.startsWith('2:'), 2_000, 20);
    await live.close();
    expect(await redis.exists(`${keyPrefix}:wall`, `${keyPrefix}:other`)).toBe(0);
  });

  it('fails closed: answers unavailable when Redis refuses the connection or stalls, and corrects a late write', async () => {
    const gatewayLike = { maxRetriesPerRequest: 1, enableOfflineQueue: false } as const;
    const nowhere = new Redis(`redis://127.0.0.1:${await freePort()}`, { ...gatewayLike, retryStrategy: () => null });
    nowhere.on('error', () => undefined);
    try {
      expect(await quota(nowhere).take('wall')).toBe('unavailable');
    } finally {
      nowhere.disconnect();
    }

    let stalled: DedicatedService | undefined;
    let client: Redis | undefined;
    try {
      stalled = await startRedis();
      client = new Redis(stalled.url, gatewayLike);
      client.on('error', () => undefined);
      await waitFor('dedicated Redis ready', async () => client!.status === 'ready', 10_000, 20);
      const q = quota(client, { ttlMs: 30_000, timeoutMs: 300 });
      expect(await q.take('wall')).toBe('ok');
      const before = await client.hget(`${keyPrefix}:wall`, q.instance);
      stalled.signal('SIGSTOP');
      const asked = Date.now();
      expect(await q.take('wall')).toBe('unavailable');
      expect(Date.now() - asked).toBeLessThan(2_000);
      stalled.signal('SIGCONT');
      // The stalled take wrote 2 once Redis woke up; then the share is written back to what the process holds.
      await waitFor(
        'the share rewritten as 1',
        async () => {
          const now = await client!.hget(`${keyPrefix}:wall`, q.instance);
          return now !== before && now?.startsWith('1:');
        },
        5_000,
        20,
      );
      expect(q.countOf('wall')).toBe(1);
    } finally {
      stalled?.signal('SIGCONT');
      client?.disconnect();
      await stalled?.remove();
    }
  });
});
