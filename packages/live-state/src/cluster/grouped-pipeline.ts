import type { ChainableCommander } from 'ioredis';
import type { AnyRedis } from './redis-client';

/** One single-key read: its key (for grouping) and how to queue it on a pipeline. */
export interface KeyedRead {
  key: string;
  queue(pipeline: ChainableCommander): void;
}

/** The hash tag of a key (the part Redis Cluster hashes), or the whole key when it has none. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/**
 * Runs single-key reads and returns their replies in order (a failed read throws). On one
 * Redis: one pipeline, one round trip. On a Redis Cluster, whose pipelines must keep to the
 * slots of one node: one pipeline per hash tag (so per slot), all sent in parallel, so a
 * read costs one round trip in time however many partitions it spans.
 */
export async function readGrouped<T = unknown>(client: AnyRedis, reads: readonly KeyedRead[]): Promise<T[]> {
  if (reads.length === 0) return [];
  const groups = new Map<string, number[]>();
  if (client.isCluster) {
    reads.forEach((read, i) => {
      const tag = hashTagOf(read.key);
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
