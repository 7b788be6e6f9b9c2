import type { ChainableCommander, Cluster } from 'ioredis';
import { hashedPart, keySlot } from './key-slot';
import type { AnyRedis } from './redis-client';

/** One single-key read: its key (for grouping) and how to queue it on a pipeline. */
export interface KeyedRead {
  key: string;
  queue(pipeline: ChainableCommander): void;
}

/** The hash tag of a key (the part Redis Cluster hashes), or the whole key when it has none. */
export const hashTagOf = hashedPart;

/**
 * Which pipeline a key goes in on a cluster: the nodes serving its slot (master first), as
 * ioredis groups slots when it checks that a pipeline keeps to one node; its hash tag while
 * the client has no slot table yet (then one pipeline per slot).
 */
function nodeGroupOf(cluster: Cluster, key: string): string {
  const slot = keySlot(key);
  const nodes = cluster.slots[slot];
  return nodes && nodes.length > 0 ? nodes.join(',') : `{${hashedPart(key)}}`;
}

/**
 * Runs single-key reads and returns their replies in order (a failed read throws). On one
 * Redis: one pipeline, one round trip. On a Redis Cluster, whose pipelines must keep to the
 * slots of one node: one pipeline per node (ADR 0003), all sent in parallel, so a read
 * costs one round trip to each master however many partitions and scopes it spans.
 */
export async function readGrouped<T = unknown>(client: AnyRedis, reads: readonly KeyedRead[]): Promise<T[]> {
  try {
    return await readGroupedOnce<T>(client, reads);
  } catch (err) {
    // After a failover or a resharding, a pipeline over several slots gets one MOVED (or ASK)
    // per slot, different messages, which ioredis neither retries nor learns from: refresh the
    // slot map and read once more.
    if (!client.isCluster || !/^(MOVED|ASK) /.test((err as Error).message ?? '')) throw err;
    await new Promise<void>((resolve) => (client as Cluster).refreshSlotsCache(() => resolve()));
    return readGroupedOnce<T>(client, reads);
  }
}

async function readGroupedOnce<T>(client: AnyRedis, reads: readonly KeyedRead[]): Promise<T[]> {
  if (reads.length === 0) return [];
  const groups = new Map<string, number[]>();
  if (client.isCluster) {
    reads.forEach((read, i) => {
      const tag = nodeGroupOf(client as Cluster, read.key);
      let group = groups.get(tag);
      if (!group) groups.set(tag, (group = []));
      group.push(i);
    });
  } else {
    groups.set(
      '',
      reads.map((_, i) => i),
    );
  }
  const out: T[] = new Array(reads.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = client.pipeline();
      for (const i of indexes) reads[i]!.queue(pipeline);
      const replies = (await pipeline.exec()) ?? [];
      indexes.forEach((i, j) => {
        const [err, value] = replies[j] ?? [new Error('no reply'), null];
        if (err) throw err;
        out[i] = value as T;
      });
    }),
  );
  return out;
}
