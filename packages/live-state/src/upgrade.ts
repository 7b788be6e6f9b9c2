import type { Redis } from 'ioredis';
import { keySpace, partitionTag, partitionsOf } from './keys';

// KEYS: one partition's offsets hash (ADR 0003). ARGV: partition, applied offset. Adopts it
// (applied and durable: the previous write path stored ClickHouse before Redis) unless the
// partition already has one.
const ADOPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'durable:' .. ARGV[1], ARGV[2])
return 1`;

/**
 * Upgrade from the release that kept applied offsets per consumer group
 * (`<prefix>:off:<group>:<topic>`): without this a worker would find no applied
 * offsets for the topic and count the retained topic again. Returns how many
 * partitions were adopted (0 when there was nothing to do, or when the topic already has
 * applied offsets).
 *
 * Per partition (ADR 0003): one script in each partition's slot, the partition registered
 * first; the per-group hash is deleted once every partition of it is adopted, so a run
 * interrupted half way adopts the rest when run again.
 */
export async function adoptGroupOffsets(
  redis: Redis,
  options: { prefix: string; group: string; topic: string },
): Promise<number> {
  const keys = keySpace(options.prefix);
  const previous = `${options.prefix}:off:${options.group}:${options.topic}`;
  const old = Object.entries(await redis.hgetall(previous)).filter(([field]) => /^\d+$/.test(field));
  if (old.length === 0) return 0;
  const registered = partitionsOf(await redis.smembers(keys.partitions), options.topic);
  const pending = new Set(old.map(([p]) => Number(p)));
  for (const p of registered) {
    // A partition of the topic with an applied offset that is not one being adopted: the topic has offsets already.
    if (pending.has(p)) continue;
    if ((await redis.hexists(keys.offsets(partitionTag(options.topic, p)), String(p))) === 1) return 0;
  }
  let adopted = 0;
  for (const [field, offset] of old) {
    const tag = partitionTag(options.topic, Number(field));
    await redis.sadd(keys.partitions, tag);
    adopted += Number(await redis.eval(ADOPT, 1, keys.offsets(tag), field, offset));
  }
  await redis.del(previous);
  return adopted;
}
