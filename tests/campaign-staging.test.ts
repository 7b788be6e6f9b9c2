import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignStore, campaignScope, type Campaign } from '@livetally/campaigns';
import {
  CampaignStaging,
  LiveStateNotReadyError,
  generationScope,
  keySpace,
  liveKeys,
  partitionTag,
  type StagedScope,
} from '@livetally/live-state';
import { createHistoryDatabase } from './support/gateway-history';
import { STACK, uniqueName } from './support/stack';

/**
 * The fences of a campaign backfill on real Redis (and ClickHouse for the durable
 * definitions): a save decides atomically whether a backfill is needed, a newer cut or
 * a change of coverage makes an older generation's writes and swap change nothing, and
 * the swap replaces every live key of the campaign, future minute buckets included. Per
 * partition (ADR 0003): two partitions, each cut, staged and retired in its own slot; the
 * swap points the campaign at the new generation's shares.
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
const scopeOf = (id: string): StagedScope => ({ id, live: campaignScope(id) });
const P0 = partitionTag(TOPIC, 0);
const P1 = partitionTag(TOPIC, 1);
const l0 = () => lk.forTag(P0);
/** A stored scope's views summed over both partitions' shares. */
const views = async (scope: string) =>
  Number((await redis.hget(space.totals(P0, scope), 'views')) ?? 0) +
  Number((await redis.hget(space.totals(P1, scope), 'views')) ?? 0);
const live = async (id: string) => generationScope(id, await redis.hget(store.keys.live, id));

beforeAll(async () => {
  redis = new Redis(STACK.redisUrl);
  db = await createHistoryDatabase('campstg');
  store = new CampaignStore(redis, db.client, prefix);
  staging = new CampaignStaging(redis, { prefix, topic: TOPIC, keys: store.keys });
  await redis.sadd(space.partitions, P0, P1);
  for (const tag of [P0, P1]) await redis.set(space.liveState(tag), 'ready');
  await redis.hset(space.offsets(P0), '0', '41', 'durable:0', '41');
  await redis.hset(space.offsets(P1), '1', '7', 'durable:1', '7');
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
    // The previous figures (a share in each partition), and a bucket ahead of the clock that history will not hold.
    await redis.hset(space.totals(P0, s.live), 'views', 2);
    await redis.hset(space.totals(P1, s.live), 'views', 3);
    await redis.hset(l0().minute(s.live, now + 3 * MINUTE), 'orders', 9);
    const version = Number(await redis.get(store.keys.version));

    const older = (await staging.takeCut(s, now))!;
    expect(older).toMatchObject({
      upTo: new Map([
        [0, '41'],
        [1, '7'],
      ]),
      pending: '3',
      version: version + 1,
    });
    expect(JSON.parse(older.definition)).toMatchObject({ id: 'a', version: 3 });
    expect(Number(await redis.get(store.keys.version))).toBe(version + 1);
    // Every partition's copy of the catalogue version holds the cut's version.
    expect([await redis.get(space.catalogueVersion(P0)), await redis.get(space.catalogueVersion(P1))]).toEqual([
      String(version + 1),
      String(version + 1),
    ]);
    const olderScope = generationScope('a', older.gen);
    expect((await store.snapshot()).campaigns.find((c) => c.id === 'a')).toMatchObject({ stagingScope: olderScope });
    expect(await staging.stage(s, older, 0, { totals: { views: 100 } })).toBe(true);
    expect(await views(olderScope)).toBe(100);

    // Another process cuts again: its generation starts empty, the older generation is out.
    const current = (await staging.takeCut(s, now))!;
    const currentScope = generationScope('a', current.gen);
    expect(await views(currentScope)).toBe(0);
    expect(await staging.stage(s, older, 1, { totals: { views: 100 } })).toBe(false);
    expect(await views(olderScope)).toBe(100); // unchanged: the write of the older generation was refused
    expect(await staging.swap(s, older)).toBeNull();
    expect(await live('a')).toBe('campaign:a');
    expect(await views(s.live)).toBe(5);

    // History up to the cut per partition, plus a live apply after it (as a worker adds it to the staging scope).
    const history = {
      totals: { views: 2, orders: 2 },
      minutes: [{ t: now - MINUTE, totals: { views: 2, orders: 2 } }],
      rankings: { district: { gmv: { Luohu: 700 } } },
      hosts: ['h1', 'h2'],
      viewers: ['v1', 'v2', 'v3'],
    };
    expect(await staging.stage(s, current, 0, history)).toBe(true);
    expect(await staging.stage(s, current, 1, { totals: { views: 1 }, viewers: ['v3', 'v4'] })).toBe(true);
    await redis.hincrby(space.totals(P1, currentScope), 'views', 1);
    expect(await views(s.live)).toBe(5); // readers still see the previous figures

    const swapped = (await staging.swap(s, current))!;
    expect(swapped).toMatchObject({ retired: 'campaign:a', live: currentScope, version: version + 3 });
    expect(await live('a')).toBe(currentScope);
    expect(await views(currentScope)).toBe(4);
    expect(await redis.hgetall(space.totals(P0, currentScope))).toEqual({ views: '2', orders: '2' });
    expect(await redis.hgetall(l0().minute(currentScope, now - MINUTE))).toEqual({ views: '2', orders: '2' });
    expect(await redis.ttl(l0().minute(currentScope, now - MINUTE))).toBeGreaterThan(3 * 3600 - 120);
    expect(await redis.exists(l0().minute(currentScope, now + 3 * MINUTE))).toBe(0);
    expect(await redis.zrange(l0().ranking(currentScope, 'district', 'gmv'), 0, -1, 'WITHSCORES')).toEqual([
      'Luohu',
      '700',
    ]);
    expect(await redis.pfcount(l0().hosts(currentScope))).toBe(2);
    expect(await redis.pfcount(l0().viewers(currentScope), lk.forTag(P1).viewers(currentScope))).toBe(4);
    expect([await redis.hlen(store.keys.staging), await redis.hlen(store.keys.pending)]).toEqual([0, 0]);
    const snap = (await store.snapshot()).campaigns.find((c) => c.id === 'a')!;
    expect(snap.stagingScope).toBeUndefined();
    expect(snap.liveScope).toBe(currentScope);

    // Retire: the previous figures' shares go in every partition, and the copies reach the swap's version.
    await staging.retire(s, swapped, current.sinceMinute, now + 1_000);
    expect(await redis.keys(`${prefix}:*:campaign:a`)).toEqual([]);
    expect(await redis.exists(l0().minute(s.live, now + 3 * MINUTE))).toBe(0);
    expect(await redis.get(space.catalogueVersion(P1))).toBe(String(version + 3));
    expect(await staging.takeCut(s, now)).toBeNull(); // nothing pending any more
  });

  it('a change of coverage or a catalogue restore during a backfill supersedes it; a name change does not', async () => {
    const s = scopeOf('a');
    await store.save(campaign('a', 4, { filters: { districts: ['Nanshan'] } }));
    const cut = (await staging.takeCut(s, now))!;
    await store.save(campaign('a', 5, { filters: { districts: ['Nanshan'] }, name: 'renamed again' }));
    expect(await staging.stage(s, cut, 0, { totals: { views: 1 } })).toBe(true);
    await store.save(campaign('a', 6, { filters: { districts: ['Futian'] } }));
    expect(await staging.swap(s, cut)).toBeNull();
    expect(await redis.hget(store.keys.pending, 'a')).toBe('6');

    const next = (await staging.takeCut(s, now))!;
    expect(JSON.parse(next.definition)).toMatchObject({ version: 6 });
    await store.restoreFromHistory();
    expect(await staging.swap(s, next)).toBeNull();
    expect(await redis.hget(store.keys.pending, 'a')).toBe('6'); // still to do after the restore
  });

  it('refuses to cut while a rebuild holds the lock, and leases one backfill at a time', async () => {
    await redis.set(space.rebuildLock(P1), 'someone', 'PX', 5_000);
    await expect(staging.takeCut(scopeOf('a'), now)).rejects.toBeInstanceOf(LiveStateNotReadyError);
    await redis.del(space.rebuildLock(P1));

    const lease = (await staging.acquireLease('a', 5_000))!;
    expect(lease).not.toBeNull();
    expect(await staging.acquireLease('a', 5_000)).toBeNull();
    await lease.release();
    const again = await staging.acquireLease('a', 5_000);
    expect(again).not.toBeNull();
    await again!.release();
  });
});
