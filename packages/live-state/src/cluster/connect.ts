import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { AnyRedis } from './redis-client';

/** Where the live state is: one Redis (REDIS_URL), or a Redis Cluster (REDIS_CLUSTER_NODES). */
export interface RedisTarget {
  /** REDIS_URL. With cluster nodes, only its credentials, database-free options and TLS (rediss:) are used. */
  url: string;
  /** REDIS_CLUSTER_NODES as host:port entries; empty for one Redis. */
  clusterNodes?: readonly string[];
}

export interface RedisClientOptions {
  /**
   * `subscriber`: for SSUBSCRIBE only (the gateway's change feed). On a cluster it is created
   * with `shardedSubscribers: true`, one subscriber connection per master that ioredis moves
   * to the promoted replica after a failover (ADR 0003, subscribeSharded).
   */
  role?: 'commands' | 'subscriber';
  /**
   * Attached before the client is returned, so before anything can fail: a Cluster client
   * emits `error` (`Connection is closed.`, dozens of times) while a master fails over, and an
   * `error` event with no listener crashes the process.
   */
  onError(err: Error): void;
  /** Options of every connection (to the one Redis, or to each cluster node). */
  redis?: RedisOptions;
  /**
   * Cluster-wide overrides (retry pauses, slot refresh). By default a cluster client queues
   * nothing while it has no slot map when `redis.enableOfflineQueue` is false, looks for the
   * cluster again forever (pauses growing to 2 s), like a single client's retryStrategy, and
   * reads the slot map every second.
   */
  cluster?: Omit<ClusterOptions, 'redisOptions' | 'shardedSubscribers'>;
}

/** `host:port` → ioredis's node form; IPv6 hosts may be bracketed (`[::1]:7000`). */
export function parseClusterNode(entry: string): { host: string; port: number } {
  const at = entry.lastIndexOf(':');
  const host = entry.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(entry.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535)
    throw new Error(`not a host:port cluster node: ${JSON.stringify(entry)}`);
  return { host, port };
}

/** The credentials and TLS of a redis:// or rediss:// URL, for each cluster node's connection. */
function urlCredentials(url: string): RedisOptions {
  const u = new URL(url);
  const out: RedisOptions = {};
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') out.tls = {};
  return out;
}

/** True when the target is a Redis Cluster. */
export function isClusterTarget(target: RedisTarget): boolean {
  return (target.clusterNodes?.length ?? 0) > 0;
}

/**
 * The one place the services make their Redis client: a single connection to REDIS_URL, or,
 * when REDIS_CLUSTER_NODES is set, an ioredis Cluster client seeded with those nodes (every
 * live-state command touches one slot, ADR 0003, so the same code runs on both). The error
 * listener is attached here, before the caller's first await.
 */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): AnyRedis {
  const { role = 'commands', onError, redis = {} } = options;
  let client: AnyRedis;
  if (isClusterTarget(target)) {
    const nodes = target.clusterNodes!.map(parseClusterNode);
    // Node connections never reconnect on their own in ioredis' Cluster (it refreshes the slot
    // map instead), so a single client's retryStrategy has no meaning there.
    const { retryStrategy: _unused, lazyConnect, ...perNode } = redis;
    client = new Cluster(nodes, {
      clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      // ioredis learns a failover's new slot owners from a MOVED reply to a single command; a
      // pipeline over several slots of a moved master gets MOVED replies that differ (the slot
      // number) and neither retries nor refreshes its map. Asking every second bounds how long
      // such reads (readGrouped) fail after a failover.
      slotsRefreshInterval: 1_000,
      enableOfflineQueue: redis.enableOfflineQueue ?? true,
      lazyConnect: lazyConnect ?? false,
      ...options.cluster,
      redisOptions: { ...urlCredentials(target.url), ...perNode },
      shardedSubscribers: role === 'subscriber',
    });
  } else {
    client = new Redis(target.url, redis);
  }
  client.on('error', onError);
  return client;
}
