import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignStore, campaignScope, stagingScope, type Campaign } from '@livetally/campaigns';
import { CampaignStaging, LiveStateNotReadyError, keySpace, liveKeys, type StagedScope } from '@livetally/live-state';
import { createHistoryDatabase } from './support/gateway-history';
import { STACK, uniqueName } from './support/stack';

/**
 * The fences of a campaign backfill on real Redis (and ClickHouse for the durable
 * definitions): a save decides atomically whether a backfill is needed, a newer cut or
 * a change of coverage makes an older generation's writes and swap change nothing, and
 * the swap replaces every live key of the campaign, future minute buckets included.
 */
const MINUTE = 60_000;
const TOPIC = 't';
const prefix = uniqueName('lt-test-campstg');
const space = keySpace(prefix);
const lk = liveKeys(prefix);
const now = Math.floor(Date.now() / MINUTE) * MINUTE;

let redis: Redis;
let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
let store: CampaignStore;
let staging: CampaignStaging;

const campaign = (id: string, version: number, over: Partial<Campaign> = {}): Campaign => ({
  id,
  name: id,
  startsAt: now - 60 * MINUTE,
  endsAt: now + 60 * MINUTE,
  timeZone: 'Asia/Shanghai',
  filters: { districts: ['Luohu'] },
  targets: {},
  status: 'active',
  createdAt: now,
  updatedAt: now,
  version,
  ...over,
});
const scopeOf = (id: string): StagedScope => ({ id, live: campaignScope(id), staged: stagingScope(id) });
const views = async (scope: string) => Number((await redis.hget(space.totals(scope), 'views')) ?? 0);

beforeAll(async () => {
  redis = new Redis(STACK.redisUrl);
  db = await createHistoryDatabase('campstg');
  store = new CampaignStore(redis, db.client, prefix);
  staging = new CampaignStaging(redis, { prefix, topic: TOPIC, keys: store.keys });
  await redis.set(space.liveState, 'ready');
  await redis.hset(space.appliedOffsets(TOPIC), '0', '41', 'durable:0', '41', '1', '7', 'durable:1', '7');
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await db?.drop();
});

describe('campaign staging fences', () => {
  it('a save marks a backfill pending only when the covered events change', async () => {
    expect(await store.save(campaign('a', 1))).toMatchObject({ backfill: true });
    expect(await store.pendingBackfills()).toEqual(['a']);
    await redis.hdel(store.keys.pending, 'a');
    expect(await store.save(campaign('a', 2, { name: 'renamed', targets: { views: 3 } }))).toMatchObject({
      backfill: false,
    });
    expect(await store.pendingBackfills()).toEqual([]);
    expect(await store.save(campaign('a', 3, { filters: { districts: ['Luohu', 'Futian'] } }))).toMatchObject({
      backfill: true,
    });
    expect(await redis.hget(store.keys.pending, 'a')).toBe('3');
  });

  it('an older generation writes nothing and cannot swap; the current one replaces every live key', async () => {
    const s = scopeOf('a');
    // The previous figures, and a bucket ahead of the clock that history will not hold.
    await redis.hset(space.totals(s.live), 'views', 5);
    await redis.hset(lk.minute(s.live, now + 3 * MINUTE), 'orders', 9);
    const version = Number(await redis.get(store.keys.version));

    const older = (await staging.takeCut(s, now))!;
    expect(older).toMatchObject({
      upTo: new Map([
        [0, '41'],
        [1, '7'],
      ]),
      pending: '3',
    });
    expect(JSON.parse(older.definition)).toMatchObject({ id: 'a', version: 3 });
    expect(Number(await redis.get(store.keys.version))).toBe(version + 1);
    expect((await store.snapshot()).campaigns.find((c) => c.id === 'a')).toMatchObject({
      stagingScope: 'campaign:a~staging',
    });
    expect(await staging.stage(s, older, { totals: { views: 100 } })).toBe(true);
    expect(await views(s.staged)).toBe(100);

    // Another process cuts again: the staging scope starts empty, the older generation is out.
    const current = (await staging.takeCut(s, now))!;
    expect(await views(s.staged)).toBe(0);
    expect(await staging.stage(s, older, { totals: { views: 100 } })).toBe(false);
    expect(await views(s.staged)).toBe(0);
    expect(await staging.swap(s, older, now)).toBe(false);
    expect(await views(s.live)).toBe(5);

    // History up to the cut, plus a live apply after it (as a worker adds it to the staging scope).
    const history = {
      totals: { views: 3, orders: 2 },
      minutes: [{ t: now - MINUTE, totals: { views: 3, orders: 2 } }],
      rankings: { district: { gmv: { Luohu: 700 } } },
      hosts: ['h1', 'h2'],
      viewers: ['v1', 'v2', 'v3'],
    };
    expect(await staging.stage(s, current, history)).toBe(true);
    await redis.hincrby(space.totals(s.staged), 'views', 1);
    expect(await views(s.live)).toBe(5); // readers still see the previous figures

    expect(await staging.swap(s, current, now + 1_000)).toBe(true);
    expect(await redis.hgetall(space.totals(s.live))).toEqual({ views: '4', orders: '2' });
    expect(await redis.hgetall(lk.minute(s.live, now - MINUTE))).toEqual({ views: '3', orders: '2' });
    expect(await redis.ttl(lk.minute(s.live, now - MINUTE))).toBeGreaterThan(3 * 3600 - 120);
    expect(await redis.exists(lk.minute(s.live, now + 3 * MINUTE))).toBe(0);
    expect(await redis.zrange(lk.ranking(s.live, 'district', 'gmv'), 0, -1, 'WITHSCORES')).toEqual(['Luohu', '700']);
    expect([await redis.pfcount(lk.hosts(s.live)), await redis.pfcount(lk.viewers(s.live))]).toEqual([2, 3]);
    expect(await redis.keys(`${prefix}:*campaign:a~staging*`)).toEqual([]);
    expect([await redis.hlen(store.keys.staging), await redis.hlen(store.keys.pending)]).toEqual([0, 0]);
    expect((await store.snapshot()).campaigns.find((c) => c.id === 'a')!.stagingScope).toBeUndefined();
    expect(await staging.takeCut(s, now)).toBeNull(); // nothing pending any more
  });

  it('a change of coverage or a catalogue restore during a backfill supersedes it; a name change does not', async () => {
    const s = scopeOf('a');
    await store.save(campaign('a', 4, { filters: { districts: ['Nanshan'] } }));
    const cut = (await staging.takeCut(s, now))!;
    await store.save(campaign('a', 5, { filters: { districts: ['Nanshan'] }, name: 'renamed again' }));
    expect(await staging.stage(s, cut, { totals: { views: 1 } })).toBe(true);
    await store.save(campaign('a', 6, { filters: { districts: ['Futian'] } }));
    expect(await staging.swap(s, cut, now)).toBe(false);
    expect(await redis.hget(store.keys.pending, 'a')).toBe('6');

    const next = (await staging.takeCut(s, now))!;
    expect(JSON.parse(next.definition)).toMatchObject({ version: 6 });
    await store.restoreFromHistory();
    expect(await staging.swap(s, next, now)).toBe(false);
    expect(await redis.hget(store.keys.pending, 'a')).toBe('6'); // still to do after the restore
  });

  it('refuses to cut while a rebuild holds the lock, and leases one backfill at a time', async () => {
    await redis.set(space.rebuildLock, 'someone', 'PX', 5_000);
    await expect(staging.takeCut(scopeOf('a'), now)).rejects.toBeInstanceOf(LiveStateNotReadyError);
    await redis.del(space.rebuildLock);

    const lease = (await staging.acquireLease('a', 5_000))!;
    expect(lease).not.toBeNull();
    expect(await staging.acquireLease('a', 5_000)).toBeNull();
    await lease.release();
    const again = await staging.acquireLease('a', 5_000);
    expect(again).not.toBeNull();
    await again!.release();
  });
});
