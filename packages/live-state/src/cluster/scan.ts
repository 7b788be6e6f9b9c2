import type { Cluster, Redis } from 'ioredis';
import type { AnyRedis } from './redis-client';

/**
 * Every key matching `pattern`, in batches (SCAN, so Redis is never blocked). On a Redis
 * Cluster each master is scanned in turn: a SCAN sees one node's keys only.
 */
export async function* scanKeys(client: AnyRedis, pattern: string, count = 5_000): AsyncGenerator<string[]> {
  const nodes: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
