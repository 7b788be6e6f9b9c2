import { randomBytes } from 'node:crypto';
import { DEFAULT_KEY_PREFIX } from '../keys';
import type { AnyRedis } from './redis-client';

export interface UniqueAcrossOptions {
  /** The key prefix the scratch copies are written under (`<prefix>:tmp:{hll:<random>}:<i>`). */
  prefix?: string;
  /** How long a scratch copy may outlive a reader that dies between writing and deleting it. */
  copyTtlMs?: number;
}

/**
 * PFCOUNT of the union of HyperLogLogs held in different slots, where PFCOUNT and PFMERGE of
 * several keys are refused (CROSSSLOT). Each HyperLogLog's bytes (Redis's own format) are
 * read, written back as short-lived copies under one hash tag, and counted in one PFCOUNT:
 * Redis merges them with its own estimator, so the figure is exactly the one a PFCOUNT of
 * the same keys would give on one Redis. Missing keys count as empty.
 */
export async function countUniqueAcross(
  client: AnyRedis,
  keys: readonly string[],
  options: UniqueAcrossOptions = {},
): Promise<number> {
  // One key needs no merge, and PFCOUNT of one key is allowed in any slot.
  if (keys.length === 1) return client.pfcount(keys[0]!);
  const present = (await Promise.all(keys.map((key) => client.getBuffer(key)))).filter(
    (bytes): bytes is Buffer => bytes !== null,
  );
  if (present.length === 0) return 0;
  const tag = `{hll:${randomBytes(8).toString('hex')}}`;
  const copies = present.map((_, i) => `${options.prefix ?? DEFAULT_KEY_PREFIX}:tmp:${tag}:${i}`);
  const ttl = options.copyTtlMs ?? 5_000;
  // One slot, so one pipeline to one master: write, count and delete in one round trip.
  const pipeline = client.pipeline();
  present.forEach((bytes, i) => pipeline.set(copies[i]!, bytes, 'PX', ttl));
  pipeline.pfcount(...copies);
  pipeline.del(...copies);
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([err]) => err !== null);
  if (failed) throw failed[0]!;
  return Number(replies[present.length]![1]);
}
