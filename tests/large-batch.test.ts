import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchPlanner, EventDeduplicator, RedisCounterStore, partitionTag } from '@livetally/live-state';
import { buildDataset, expectedTotals } from '../services/simulator/src/dataset';
import { deletePrefix, STACK, uniqueName } from './support/stack';

/**
 * A batch far larger than a default fetch (kafkajs can hand over tens of thousands of
 * messages per partition with larger fetch sizes): the atomic apply and the resend
 * claims must take it in one call. This once overflowed the JavaScript stack.
 */
const prefix = uniqueName('big');
const redis = new Redis(STACK.redisUrl);

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('one very large batch', () => {
  it('applies 60k events with their live plan and claims them in single calls', async () => {
    const now = Date.now();
    const events = buildDataset({
      seed: 5,
      count: 60_000,
      startTs: now - 30 * 60_000,
      spanMs: 29 * 60_000,
      hosts: 3_000,
    }).map((m) => m.event!);
    const store = new RedisCounterStore(redis, { prefix });
    await redis.set(store.keys.liveState(partitionTag('t', 0)), 'ready');
    const dedup = new EventDeduplicator(redis, { prefix, windowSeconds: 600, bucketsPerHour: 4096 });
    const firsts = await dedup.claim(
      events.map((e, i) => ({
        topic: 't',
        platform: e.platform,
        eventId: e.eventId,
        ts: e.ts,
        partition: 0,
        offset: String(i),
      })),
    );
    expect(firsts.every(Boolean)).toBe(true);
    const planner = new BatchPlanner({ now });
    for (const e of events) planner.add(e);
    const live = planner.encodeLive(store.partitionKeys('t', 0));
    expect(live.args.length).toBeGreaterThan(200_000);
    const { gen } = await store.takePartition('t', 0, 0);
    const outcome = await store.applyBatch({
      topic: 't',
      partition: 0,
      ownerGen: gen,
      expectedOffset: '-1',
      newOffset: String(events.length - 1),
      deltas: planner.deltas(),
      live,
    });
    expect(outcome).toEqual({ applied: true });
    expect((await store.readTotals(['all'])).get('all')).toEqual(expectedTotals(events).get('all'));
  });
});
