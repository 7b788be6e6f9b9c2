import type { Redis } from 'ioredis';
import { NotPartitionedYetError } from './live-state';

/**
 * Upgrade from the release that kept applied offsets per consumer group
 * (`<prefix>:off:<group>:<topic>`): without this a worker would find no applied
 * offsets for the topic and count the retained topic again. Returns how many
 * partitions were adopted (0 when there was nothing to do).
 *
 * ADR 0003 ("Migration"): the per-partition layout starts from an empty key prefix and a
 * rebuild; adopting a per-group hash becomes a one-time per-partition script (Milestone 2).
 * Until then a per-group hash is refused rather than ignored (ignoring it would count the
 * retained topic again).
 */
export async function adoptGroupOffsets(
  redis: Redis,
  options: { prefix: string; group: string; topic: string },
): Promise<number> {
  const previous = `${options.prefix}:off:${options.group}:${options.topic}`;
  if ((await redis.exists(previous)) === 0) return 0;
  throw new NotPartitionedYetError(`adopting ${previous} into the per-partition offsets`);
}
