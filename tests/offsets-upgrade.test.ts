import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCounterStore, adoptGroupOffsets, keySpace, partitionTag } from '@livetally/live-state';
import { STACK, deletePrefix, uniqueName } from './support/stack';

/**
 * Upgrading from the release that kept applied offsets per consumer group: the topic's
 * offsets are adopted once (applied and durable), so the workers do not count the
 * retained topic again; a second call, or a topic that already has offsets, changes nothing.
 */
const prefix = uniqueName('upgrade');
const redis = new Redis(STACK.redisUrl);

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('adoptGroupOffsets', () => {
  it("adopts the previous release's per-group offsets once", async () => {
    const previous = `${prefix}:off:ingest:t`;
    await redis.hset(previous, '0', '41', '1', '7', 'plan:0', '42-50');
    expect(await adoptGroupOffsets(redis, { prefix, group: 'ingest', topic: 't' })).toBe(2);
    // Per partition (ADR 0003): each partition's offsets hash, and the partition registered.
    const offsets = await new RedisCounterStore(redis, { prefix }).offsetFields('t');
    expect(offsets).toEqual(
      new Map([
        [0, { '0': '41', 'durable:0': '41' }],
        [1, { '1': '7', 'durable:1': '7' }],
      ]),
    );
    expect(await redis.exists(previous)).toBe(0);
    await redis.hset(previous, '0', '99');
    expect(await adoptGroupOffsets(redis, { prefix, group: 'ingest', topic: 't' })).toBe(0);
    expect(await redis.hget(keySpace(prefix).offsets(partitionTag('t', 0)), '0')).toBe('41');
  });
});
