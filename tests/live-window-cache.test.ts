import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LiveStateReader,
  MinuteWindowCache,
  liveKeys,
  partitionTag,
  type MinutePoint,
  type WindowReadKind,
} from '@livetally/live-state';
import { LiveWriter, liveEvent } from './support/live-writes';
import { STACK, uniqueName } from './support/stack';

/**
 * The window cache behind live windows: and series: channels against real Redis, written
 * as ingest writes: after every kind of change its minute points equal a full read
 * (LiveStateReader.series), and it reads only what may have changed.
 */
const prefix = uniqueName('lt-test-window');
const MINUTE = 60_000;
const CAMPAIGN = 'campaign:spring-sale';
let redis: Redis;
let writer: LiveWriter;
let truth: LiveStateReader;
let cache: MinuteWindowCache;
const reads: { kind: WindowReadKind; scope: string }[] = [];
// A fixed "now" in the middle of a minute: the test never depends on the wall clock turning a minute.
const now = Math.floor(Date.now() / MINUTE) * MINUTE + 30_000;

async function points(scope: string, at = now, depth = 120): Promise<MinutePoint[]> {
  reads.length = 0;
  return (await cache.points(new Map([[scope, depth]]), at)).get(scope)!;
}

async function expectExact(scope: string, at = now, depth = 120): Promise<WindowReadKind[]> {
  const got = await points(scope, at, depth);
  const kinds = reads.filter((r) => r.scope === scope).map((r) => r.kind);
  expect(got).toEqual((await truth.series([scope], at, depth)).get(scope));
  return kinds;
}

/** Applies events and tells the cache, as the gateway's change subscription does. */
async function change(events: Parameters<LiveWriter['apply']>[0], campaigns: string[] = []): Promise<void> {
  await writer.apply(events, campaigns);
  cache.noteChanged(['all', 'city:Shenzhen', ...campaigns]);
}

beforeAll(async () => {
  redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
  writer = await new LiveWriter(redis, prefix).init();
  truth = new LiveStateReader(redis, prefix);
  cache = new MinuteWindowCache(redis, prefix, (kind, scope) => reads.push({ kind, scope }));
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('minute window cache', () => {
  it('matches a full read after every kind of change and reads only what may have changed', async () => {
    await change([liveEvent('sale', now), liveEvent('view', now - 10 * MINUTE)]);
    expect(await expectExact('all')).toEqual(['full']); // first read
    expect(await expectExact('all')).toEqual([]); // nothing announced: nothing read

    await change([liveEvent('sale', now), liveEvent('view', now)]);
    expect(await expectExact('all')).toEqual(['recent']); // the current minute

    await change([liveEvent('view', now - MINUTE)]);
    expect(await expectExact('all')).toEqual(['recent']); // late by seconds, at the turn of a minute

    await change([liveEvent('sale', now + MINUTE)]);
    expect(await expectExact('all')).toEqual(['recent']); // a producer clock a little ahead

    await change([liveEvent('sale', now - 30 * MINUTE)]);
    expect(await expectExact('all')).toEqual(['recent', 'full']); // late into a closed minute: the totals tell

    await change([liveEvent('view', now + 3 * MINUTE)]);
    expect(await expectExact('all')).toEqual(['recent', 'full']); // beyond the next minute: not explained either

    // Writes no ingest batch makes, as a rebuild or a backfill may: buckets that move while
    // the totals do not (zero growth), and a recent bucket that shrinks with its totals.
    const live = liveKeys(prefix).partition('live-writes', 0);
    const share = partitionTag('live-writes', 0);
    await redis.hincrby(live.minute('all', now - 20 * MINUTE), 'views', 1);
    await redis.hincrby(live.minute('all', now - 10 * MINUTE), 'views', -1);
    cache.noteChanged(['all']);
    expect(await expectExact('all')).toEqual(['recent', 'full']);
    await redis.hincrby(live.minute('all', now), 'views', -1);
    await redis.hincrby(writer.store.keys.totals(share, 'all'), 'views', -1);
    cache.noteChanged(['all']);
    expect(await expectExact('all')).toEqual(['recent', 'full']);

    cache.noteAllChanged(); // the change feed reconnected: notifications may be lost
    expect(await expectExact('all')).toEqual(['full']);
  });

  it('reads the minutes that enter the window as the clock moves, once', async () => {
    await expectExact('all');
    // +1 was read as the next minute; +2 enters the window and +3 becomes the next one.
    expect(await expectExact('all', now + 2 * MINUTE)).toEqual(['slide', 'slide']);
    expect(await expectExact('all', now + 2 * MINUTE)).toEqual([]);
    expect(await expectExact('all', now + 5 * MINUTE)).toEqual(['slide', 'slide', 'slide']);
  });

  it('reads a changed campaign scope in full: its backfill rewrites older minutes while the totals move apart', async () => {
    await change([liveEvent('sale', now - 5 * MINUTE), liveEvent('sale', now)], [CAMPAIGN]);
    expect(await expectExact(CAMPAIGN)).toEqual(['full']);
    // What a backfill can look like between two reads: an older minute moves, and the totals
    // grow by exactly what the current minute grew by.
    const live = liveKeys(prefix).partition('live-writes', 0);
    await redis.hincrby(live.minute(CAMPAIGN, now - 5 * MINUTE), 'orders', 1);
    await redis.hincrby(live.minute(CAMPAIGN, now), 'orders', 2);
    await redis.hincrby(writer.store.keys.totals(partitionTag('live-writes', 0), CAMPAIGN), 'orders', 2);
    cache.noteChanged([CAMPAIGN]);
    expect(await expectExact(CAMPAIGN)).toEqual(['full']);
  });

  it('serves windows (60 minutes) and series (120) of one scope from one read, and reads deeper only once', async () => {
    const scope = 'city:Shenzhen';
    expect(await expectExact(scope, now, 60)).toEqual(['full']);
    expect(await expectExact(scope, now, 60)).toEqual([]);
    expect(await expectExact(scope, now, 120)).toEqual(['full']); // deeper than held
    const shallow = await points(scope, now, 60);
    expect(reads).toEqual([]);
    expect(shallow).toHaveLength(120); // the deeper window is kept; windows use its last 60 minutes
  });

  it('stays exact through a random run of current, late and early events while the clock moves', async () => {
    const scope = 'category:food';
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const offsets = [0, 0, 0, 0, -1, -1, 1, -7, -42, -118, 2];
    let at = now;
    const kinds = new Map<WindowReadKind, number>();
    let outsideRecent = 0;
    await expectExact(scope, at);
    for (let step = 0; step < 60; step++) {
      if (random() < 0.2) at += MINUTE;
      const picked = Array.from(
        { length: 1 + Math.floor(random() * 3) },
        () => offsets[Math.floor(random() * offsets.length)]!,
      );
      if (picked.some((o) => Math.abs(o) > 1)) outsideRecent++;
      await change(picked.map((o) => liveEvent(random() < 0.5 ? 'view' : 'sale', at + o * MINUTE)));
      cache.noteChanged([scope]);
      for (const kind of await expectExact(scope, at)) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    // Every change costs the four-key transaction; only a batch with a minute outside it costs a full read.
    expect(kinds.get('recent')).toBe(60);
    expect(kinds.get('full') ?? 0).toBe(outsideRecent);
    expect(outsideRecent).toBeLessThan(60);
  });

  it('loses no notification that arrives while the first read of a scope runs', async () => {
    const scope = 'platform:douyin';
    const first = points(scope, now, 60); // the entry exists from here on
    await change([liveEvent('sale', now)]);
    cache.noteChanged([scope]);
    await first;
    expect(await expectExact(scope, now, 60)).not.toEqual([]);
  });
});
