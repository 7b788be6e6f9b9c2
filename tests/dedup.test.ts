import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedupStateMissingError, EventDeduplicator, keySpace, partitionTag } from '@livetally/live-state';
import { STACK, uniqueName } from './support/stack';

const prefix = uniqueName('dd');
const HOUR = Date.UTC(2024, 8, 1, 10);

describe('platform resend detection on real Redis', () => {
  let redis: Redis;
  let dedup: EventDeduplicator;

  beforeAll(() => {
    redis = new Redis(STACK.redisUrl);
    dedup = new EventDeduplicator(redis, { prefix, windowSeconds: 120, bucketsPerHour: 64 });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('counts the first occurrence, recognises its own replay, and rejects a resend from another offset', async () => {
    const e = { topic: 't', platform: 'douyin', eventId: 'evt-1', ts: HOUR + 5_000, partition: 2, offset: '100' };
    expect(await dedup.claim([e])).toEqual([true]);
    // The same message replayed after a crash is still the original.
    expect(await dedup.claim([e])).toEqual([true]);
    // The platform sent it again: a later offset of the same partition (events are keyed by
    // streamId, so every copy lands in the same partition).
    expect(await dedup.claim([{ ...e, offset: '180' }])).toEqual([false]);
    // Fingerprints are kept per partition (ADR 0003): a copy in another partition (only after
    // partitions were added to the topic) is not found there.
    expect(await dedup.claim([{ ...e, partition: 5, offset: '3' }])).toEqual([true]);
    // Another platform may reuse the id.
    expect(await dedup.claim([{ ...e, platform: 'taobao', offset: '181' }])).toEqual([true]);
  });

  it("claims only for the partition owner whose applied offset is still Redis's, and writes nothing when refused", async () => {
    const offsets = keySpace(prefix).offsets(partitionTag('t-fenced', 4));
    await redis.hset(offsets, 'gen:4', '3', '4', '99');
    const e = { topic: 't-fenced', platform: 'kuaishou', eventId: 'evt-fenced', ts: HOUR, partition: 4, offset: '120' };
    const fence = { topic: 't-fenced', partition: 4, ownerGen: 3, expectedOffset: '99' };
    // A former owner, or an owner ahead of a Redis restored from an older snapshot.
    expect(await dedup.claim([e], { ...fence, ownerGen: 2 })).toBeNull();
    expect(await dedup.claim([e], { ...fence, expectedOffset: '150' })).toBeNull();
    // Nothing was claimed: a resend at a later offset is still the first one seen.
    expect(await dedup.claim([{ ...e, offset: '130' }], fence)).toEqual([true]);
    expect(await dedup.claim([e], fence)).toEqual([false]);
    expect(await redis.ttl(offsets)).toBe(-1); // the offsets hash is not one of the fingerprint buckets
  });

  it('handles a resend inside the same batch', async () => {
    const e = { topic: 't', platform: 'jd', eventId: 'evt-9', ts: HOUR, partition: 0, offset: '1' };
    expect(await dedup.claim([e, { ...e, offset: '2' }, { ...e, eventId: 'evt-10', offset: '3' }])).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('decides a large batch with many events a bucket as claiming one event at a time would', async () => {
    // One bucket an hour: every event of the hour shares it, so the batch's claims go in slices.
    const oneBucket = new EventDeduplicator(redis, { prefix: `${prefix}:big`, windowSeconds: 120, bucketsPerHour: 1 });
    const at = (i: number, offset: number) => ({
      topic: 't',
      platform: 'douyin',
      eventId: `big-${i}`,
      ts: HOUR + (i % 2) * 3_600_000,
      partition: 1,
      offset: String(offset),
    });
    // Earlier batches: ids 0..299 at offsets 0..299.
    const earlier = Array.from({ length: 300 }, (_, i) => at(i, i));
    expect(await oneBucket.claim(earlier)).toEqual(earlier.map(() => true));
    // This batch: a replay of 0..99 (same offsets), resends of 100..299 (new offsets), 2,400
    // new ids, each new id sent a second time 1,300 positions later (another slice).
    const batch = [
      ...Array.from({ length: 100 }, (_, i) => at(i, i)),
      ...Array.from({ length: 200 }, (_, i) => at(100 + i, 1_000 + i)),
    ];
    for (let i = 0; i < 2_400; i++) batch.push(at(1_000 + i, 5_000 + i));
    for (let i = 0; i < 1_000; i++) batch.splice(300 + i + 1_300, 0, at(1_000 + i, 9_000 + i));
    // The reference: one event at a time, the first offset of an id owns it.
    const owner = new Map(earlier.map((e) => [e.eventId, e.offset]));
    const expected = batch.map((e) => {
      const held = owner.get(e.eventId);
      if (held === undefined) owner.set(e.eventId, e.offset);
      return held === undefined || held === e.offset;
    });
    expect(expected.filter((v) => !v)).toHaveLength(1_200);
    expect(await oneBucket.claim(batch)).toEqual(expected);
    // The same batch replayed (a crash before its apply) decides the same.
    expect(await oneBucket.claim(batch)).toEqual(expected);
  });

  it('expires fingerprints after the window', async () => {
    await dedup.claim([{ topic: 't', platform: 'wechat', eventId: 'evt-ttl', ts: HOUR, partition: 1, offset: '7' }]);
    // The buckets ({<topic>/<p>}:<hour>:<n>), not the window markers, which say since when the window is kept.
    const keys = await redis.keys(`${prefix}:dd:{*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttls = await Promise.all(keys.map((k) => redis.ttl(k)));
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(100);
    for (const ttl of ttls) expect(ttl).toBeLessThanOrEqual(120);
  });

  it('keeps memory per fingerprint small (printed for the README)', async () => {
    const measure = new EventDeduplicator(redis, { prefix: `${prefix}m`, windowSeconds: 600, bucketsPerHour: 500 });
    const n = 50_000;
    for (let i = 0; i < n; i += 5_000) {
      await measure.claim(
        // One partition: buckets are per partition now (ADR 0003), and bucketsPerHour is sized per partition.
        Array.from({ length: 5_000 }, (_, j) => ({
          topic: 't',
          platform: 'douyin',
          eventId: `m-${i + j}`,
          ts: HOUR + ((i + j) % 3_600_000),
          partition: 0,
          offset: String(1_000_000 + i + j),
        })),
      );
    }
    const keys = await redis.keys(`${prefix}m:dd:*`);
    let bytes = 0;
    for (const k of keys) bytes += Number(await redis.memory('USAGE', k));
    const perEvent = bytes / n;
    process.stdout.write(
      `[dedup] ${n} fingerprints in ${keys.length} hashes: ${bytes} bytes, ${perEvent.toFixed(1)} bytes per event; 24 h at 100k events/s ≈ ${((perEvent * 100_000 * 86_400) / 2 ** 30).toFixed(0)} GiB\n`,
    );
    expect(await redis.object('ENCODING', keys[0]!)).toBe('listpack');
    expect(perEvent).toBeLessThan(40);
    await redis.del(...keys);
  });

  it('refuses to claim once the window marker is gone while the partition claimed within the window', async () => {
    const topic = 't-window';
    const offsets = keySpace(prefix).offsets(partitionTag(topic, 1));
    // A fresh partition's first batch (even one without valid events) marks its window.
    await redis.hset(offsets, 'gen:1', '2');
    expect(await dedup.claim([], { topic, partition: 1, ownerGen: 2, expectedOffset: '-1' })).toEqual([]);
    expect(await redis.hexists(dedup.windowMarker(topic, 1), '1')).toBe(1);
    await redis.hset(offsets, '1', '10');
    const fence = { topic, partition: 1, ownerGen: 2, expectedOffset: '10' };
    const e = { topic, platform: 'douyin', eventId: 'evt-window', ts: HOUR, partition: 1, offset: '11' };
    expect(await dedup.claim([e], fence)).toEqual([true]);

    // Redis comes back without the window's state (fingerprints and marker), offsets intact.
    const lost = await redis.keys(`${prefix}:dd:*`);
    expect(lost).toContain(dedup.windowMarker(topic, 1));
    await redis.del(...lost);
    const resend = { ...e, offset: '12' };
    await expect(dedup.claim([resend], fence)).rejects.toThrow(DedupStateMissingError);
    await expect(dedup.claim([resend], fence)).rejects.toThrow(/npm run rebuild/);
    expect(await redis.keys(`${prefix}:dd:*`)).toEqual([]); // nothing claimed

    // Last claim longer ago than the window (120 s): nothing that mattered was lost.
    await redis.hset(offsets, 'claimed:1', String(Date.now() - 121_000));
    expect(await dedup.claim([resend], fence)).toEqual([true]);
    expect(await redis.hexists(dedup.windowMarker(topic, 1), '1')).toBe(1);
  });
});
