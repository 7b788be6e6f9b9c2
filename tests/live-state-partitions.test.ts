import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchPlanner,
  CampaignCatalogueRedis,
  LiveStateStore,
  RedisCounterStore,
  campaignKeys,
  partitionTag,
} from '@livetally/live-state';
import { liveEvent } from './support/live-writes';
import { STACK, deletePrefix, uniqueName } from './support/stack';

/**
 * ADR 0003's per-partition live state on one Redis: the partition registry, the marker per
 * partition, and the partition's copy of the campaign catalogue version that the apply checks.
 */
const prefix = uniqueName('lt-test-parts');
const topic = 'parts';
let redis: Redis;
let store: RedisCounterStore;
let live: LiveStateStore;

beforeAll(() => {
  redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
  store = new RedisCounterStore(redis, { prefix });
  live = new LiveStateStore(redis, { prefix });
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const apply = (partition: number, gen: number, expectedOffset: string, version?: number) =>
  store.applyBatch({
    topic,
    partition,
    ownerGen: gen,
    expectedOffset,
    newOffset: String(Number(expectedOffset) + 1),
    deltas: new Map([['all', { views: 1 }]]),
    catalogue: version === undefined ? undefined : { version },
  });

describe('per-partition live state (ADR 0003) on one Redis', () => {
  it('keeps a marker per partition and registers a partition when it is taken', async () => {
    expect(await live.status()).toBe('missing'); // nothing registered
    expect(await live.markReady(topic, 0, true)).toBe('initialized');
    expect(await live.status(topic, 0)).toBe('ready');
    expect(await live.status(topic, 1)).toBe('missing');
    await store.takePartition(topic, 0, 0);
    expect(await store.partitions(topic)).toEqual([0]);
    expect(await live.status()).toBe('ready');
    // Taking partition 1 needs its own marker: another partition's does not open its gate.
    await expect(store.takePartition(topic, 1, 0)).rejects.toMatchObject({ code: 'LIVE_STATE_NOT_READY' });
    expect(await store.partitions(topic)).toEqual([0, 1]); // registered before the take, idempotently
    expect(await live.status()).toBe('missing'); // not every registered partition is ready
    expect(await live.markReady(topic, 1, true)).toBe('initialized');
    expect(await live.status()).toBe('ready');
  });

  it("refuses a batch planned against an older catalogue than the partition's copy, and a newer one raises it", async () => {
    const catalogue = new CampaignCatalogueRedis(redis, prefix);
    const { gen } = await store.takePartition(topic, 0, 0);
    const copy = () => redis.get(store.keys.catalogueVersion(partitionTag(topic, 0)));
    const offset = await store.appliedOffset(topic, 0);
    expect(await apply(0, gen, offset, 3)).toEqual({ applied: true });
    expect(await copy()).toBe('3');
    expect(await apply(0, gen, String(Number(offset) + 1), 2)).toEqual({
      applied: false,
      staleCatalogue: true,
      catalogueVersion: 3,
    });
    // A catalogue change raises every registered partition's copy at once.
    await redis.set(campaignKeys(prefix).version, '6');
    const saved = await catalogue.save({ id: 'c1', body: '{}', version: 1, coverage: 'x' });
    expect(saved.catalogueVersion).toBe(7);
    expect(await copy()).toBe('7');
    expect(await redis.get(store.keys.catalogueVersion(partitionTag(topic, 1)))).toBe('7');
    expect(await apply(0, gen, String(Number(offset) + 1), 6)).toMatchObject({ staleCatalogue: true });
    expect(await apply(0, gen, String(Number(offset) + 1), 7)).toEqual({ applied: true });
  });

  it("gives a partition taken after a catalogue change the catalogue's version", async () => {
    expect(await live.markReady(topic, 2, true)).toBe('initialized');
    await store.takePartition(topic, 2, 0);
    expect(await redis.get(store.keys.catalogueVersion(partitionTag(topic, 2)))).toBe('7');
  });

  it("refuses live keys of another partition before Redis sees them, and sums a scope's shares", async () => {
    const { gen } = await store.takePartition(topic, 1, 0);
    const planner = new BatchPlanner({ now: Date.now() });
    planner.add(liveEvent('view', Date.now()));
    const input = {
      topic,
      partition: 1,
      ownerGen: gen,
      expectedOffset: await store.appliedOffset(topic, 1),
      newOffset: '0',
      deltas: planner.deltas(),
    };
    await expect(
      store.applyBatch({ ...input, live: planner.encodeLive(store.partitionKeys(topic, 0)) }),
    ).rejects.toThrow(/not partition parts\/1's/);
    expect(await store.appliedOffset(topic, 1)).toBe('-1');
    expect(
      await store.applyBatch({
        ...input,
        live: planner.encodeLive(store.partitionKeys(topic, 1)),
        catalogue: { version: 7 },
      }),
    ).toEqual({ applied: true });
    // Partition 0 counted 2 views above, partition 1 one.
    expect((await store.readTotals(['all'])).get('all')).toMatchObject({ views: 3 });
    const snap = await live.snapshot(topic, ['all']);
    expect(snap.status).toBe('ready');
    expect(snap.totals.get('all')).toMatchObject({ views: '3' });
    expect(snap.offsets).toEqual(await store.appliedOffsets(topic));
  });
});

/**
 * The registry (`lt:partitions`, a slot of its own) is not written atomically with a
 * partition's state. When it loses a partition whose slot kept its state (a Redis restored
 * from a snapshot between a take's SADD and its script; the registry's master failed over
 * to a replica that lacked the SADD), readers would leave that partition's shares out of
 * every sum for good: totals low with every partition applied to its end. The owner
 * registers the partition again with its take's script, every apply and every durable mark.
 */
describe('the partition registry and the shares readers sum (ADR 0003)', () => {
  const lostPrefix = uniqueName('lt-test-registry');
  let lost: RedisCounterStore;
  let lostLive: LiveStateStore;
  beforeAll(async () => {
    lost = new RedisCounterStore(redis, { prefix: lostPrefix });
    lostLive = new LiveStateStore(redis, { prefix: lostPrefix });
    for (const p of [0, 1]) await lostLive.markReady('reg', p, true);
  });
  afterAll(() => deletePrefix(redis, lostPrefix));

  const one = (partition: number, gen: number, expectedOffset: string) =>
    lost.applyBatch({
      topic: 'reg',
      partition,
      ownerGen: gen,
      expectedOffset,
      newOffset: String(Number(expectedOffset) + 1),
      deltas: new Map([['all', { views: 1 }]]),
    });

  it("counts a partition's shares again once its owner applies, after the registry lost it", async () => {
    const gens = [(await lost.takePartition('reg', 0, 0)).gen, (await lost.takePartition('reg', 1, 0)).gen];
    expect(await one(0, gens[0]!, '-1')).toEqual({ applied: true });
    expect(await one(1, gens[1]!, '-1')).toEqual({ applied: true });
    expect((await lost.readTotals(['all'])).get('all')).toMatchObject({ views: 2 });
    // The registry's master fails over to a replica without partition 1's SADD; partition 1's master keeps its state.
    await redis.srem(lost.keys.partitions, partitionTag('reg', 1));
    expect(await one(1, gens[1]!, '0')).toEqual({ applied: true });
    expect(await lost.partitions('reg')).toEqual([0, 1]);
    expect((await lost.readTotals(['all'])).get('all')).toMatchObject({ views: 3 });
    // Lost after the partition's last apply: its durable mark registers it again.
    await redis.srem(lost.keys.partitions, partitionTag('reg', 1));
    expect(await lost.markDurable('reg', 1, gens[1]!, '1')).toBe(true);
    expect((await lost.readTotals(['all'])).get('all')).toMatchObject({ views: 3 });
  });

  it('registers a partition whose registration was lost between the take and its script', async () => {
    // A second client whose catalogue read (between the take's SADD and its script) comes
    // after the registry lost the partition, as a Redis restored from a snapshot right then.
    const racing = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      const store2 = new RedisCounterStore(racing, { prefix: lostPrefix });
      const get = racing.get.bind(racing);
      (racing as unknown as { get: (key: string) => Promise<string | null> }).get = async (key: string) => {
        await racing.srem(store2.keys.partitions, partitionTag('reg', 0));
        return get(key);
      };
      const { gen, applied } = await store2.takePartition('reg', 0, 0);
      expect(await lost.partitions('reg')).toContain(0);
      expect(await one(0, gen, applied)).toEqual({ applied: true });
      expect((await lost.readTotals(['all'])).get('all')).toMatchObject({ views: 4 });
    } finally {
      racing.disconnect();
    }
  });
});
