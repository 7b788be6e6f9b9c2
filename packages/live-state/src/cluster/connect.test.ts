import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisClient, isClusterTarget, parseClusterNode } from './connect';

describe('createRedisClient', () => {
  const onError = () => undefined;

  it('makes one Redis client from REDIS_URL when no cluster node is given', () => {
    const client = createRedisClient(
      { url: 'redis://127.0.0.1:6390', clusterNodes: [] },
      { onError, redis: { lazyConnect: true } },
    );
    try {
      expect(client).toBeInstanceOf(Redis);
      expect(client.listenerCount('error')).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it('makes a Cluster client from the nodes, with REDIS_URL’s credentials, and sharded subscribers for a subscriber', () => {
    const target = { url: 'rediss://user:p%40ss@ignored:1', clusterNodes: ['127.0.0.1:7001', '[::1]:7002'] };
    const commands = createRedisClient(target, {
      onError,
      redis: { lazyConnect: true, connectionName: 'c' },
    }) as Cluster;
    const subscriber = createRedisClient(target, {
      role: 'subscriber',
      onError,
      redis: { lazyConnect: true },
    }) as Cluster;
    try {
      expect(commands).toBeInstanceOf(Cluster);
      expect(commands.listenerCount('error')).toBe(1);
      expect(commands.options.shardedSubscribers).toBe(false);
      expect(subscriber.options.shardedSubscribers).toBe(true);
      expect(commands.options.slotsRefreshInterval).toBe(1_000);
      expect(commands.options.redisOptions).toMatchObject({
        username: 'user',
        password: 'p@ss',
        tls: {},
        connectionName: 'c',
      });
      expect(commands.options.redisOptions).not.toHaveProperty('retryStrategy');
      // The nodes it was given: a private field of ioredis's Cluster, read for this check only.
      expect((commands as unknown as { startupNodes: unknown }).startupNodes).toEqual([
        { host: '127.0.0.1', port: 7001 },
        { host: '::1', port: 7002 },
      ]);
    } finally {
      commands.disconnect();
      subscriber.disconnect();
    }
  });

  it('parses host:port entries and refuses anything else', () => {
    expect(parseClusterNode('redis-1.internal:6379')).toEqual({ host: 'redis-1.internal', port: 6379 });
    expect(() => parseClusterNode('redis-1')).toThrow(/host:port/);
    expect(() => parseClusterNode('redis-1:0')).toThrow(/host:port/);
    expect(isClusterTarget({ url: 'redis://x' })).toBe(false);
    expect(isClusterTarget({ url: 'redis://x', clusterNodes: ['a:1'] })).toBe(true);
  });
});
