import type { Redis } from 'ioredis';
import { keySpace } from './keys';

// KEYS: the topic's offsets hash, the same hash as the previous release keyed it (by
// consumer group). Copies the applied offsets when the topic's hash holds none; the
// previous write path stored ClickHouse before Redis, so they are durable as well.
const ADOPT = `
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.match(f, '^%d+$') then return 0 end
end
local old = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 1, #old, 2 do
  if string.match(old[i], '^%d+$') then
    redis.call('HSET', KEYS[1], old[i], old[i + 1], 'durable:' .. old[i], old[i + 1])
    n = n + 1
  end
end
if n > 0 then redis.call('DEL', KEYS[2]) end
return n`;

/**
 * Upgrade from the release that kept applied offsets per consumer group
 * (`<prefix>:off:<group>:<topic>`): without this a worker would find no applied
 * offsets for the topic and count the retained topic again. Returns how many
 * partitions were adopted (0 when there was nothing to do).
 */
export async function adoptGroupOffsets(
  redis: Redis,
  options: { prefix: string; group: string; topic: string },
): Promise<number> {
  const current = keySpace(options.prefix).appliedOffsets(options.topic);
  const previous = `${options.prefix}:off:${options.group}:${options.topic}`;
  return Number(await redis.eval(ADOPT, 2, current, previous));
}
