import type { AnyRedis } from './cluster/redis-client';
import { DEFAULT_KEY_PREFIX, keySpace } from './keys';

// KEYS[1] a partition's copy of the catalogue version. ARGV[1] the catalogue's version.
// Versions only grow: the copy is raised, never lowered.
const RAISE_COPY = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
return 0`;

/**
 * After a catalogue change bumped the version in the campaign slot: sets every registered
 * partition's copy (`<prefix>:cv:{<topic>/<p>}`, which the apply checks in the partition's
 * slot) to it, one script per partition (ADR 0003, "Campaign catalogue and backfill"). A
 * batch planned against an older catalogue is then refused and re-planned. A partition
 * registered after the registry was read raises its copy with its first batch planned
 * against the new catalogue (the apply raises a lagging copy).
 */
export async function raiseCatalogueCopies(
  redis: AnyRedis,
  version: number | string,
  prefix = DEFAULT_KEY_PREFIX,
): Promise<void> {
  const keys = keySpace(prefix);
  const tags = await redis.smembers(keys.partitions);
  await Promise.all(tags.map((tag) => redis.eval(RAISE_COPY, 1, keys.catalogueVersion(tag), String(version))));
}
