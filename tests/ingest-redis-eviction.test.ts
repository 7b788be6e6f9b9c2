import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEvictionPolicy, readEvictionPolicy } from '../services/ingest/src/redis-eviction';
import { startRedis, type DedicatedService } from './support/dedicated';
import { createTopics, deleteTopics, testKafka } from './support/kafka';
import { startService } from './support/processes';
import { STACK, clickhouseEnv, uniqueName } from './support/stack';

/**
 * Ingest refuses to start on a Redis that may evict live state (any maxmemory-policy but
 * noeviction), on private redis-servers: one whose policy can be changed with CONFIG SET,
 * and one with CONFIG disabled as on managed Redis, where INFO memory tells the policy.
 */
let open: DedicatedService;
let managed: DedicatedService;
const clients: Redis[] = [];
const client = (service: DedicatedService) => {
  const redis = new Redis(service.url, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
};

beforeAll(async () => {
  [open, managed] = await Promise.all([
    startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] }),
    startRedis({ args: ['--maxmemory-policy', 'volatile-ttl', '--rename-command', 'CONFIG', ''] }),
  ]);
});

afterAll(async () => {
  for (const redis of clients) redis.disconnect();
  await Promise.all([open?.remove(), managed?.remove()]);
});

describe('ingest start-up check of Redis maxmemory-policy', () => {
  it('refuses allkeys-lru and accepts noeviction (CONFIG GET)', async () => {
    const redis = client(open);
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    expect(await checkEvictionPolicy(redis)).toMatch(
      /^Redis maxmemory-policy is allkeys-lru; ingest needs noeviction.*CONFIG SET maxmemory-policy noeviction/,
    );
    await redis.config('SET', 'maxmemory-policy', 'volatile-lru');
    expect(await checkEvictionPolicy(redis)).toMatch(
      /maxmemory-policy is volatile-lru.*volatile-\* evicts the per-minute buckets and resend keys/,
    );
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    expect(await checkEvictionPolicy(redis)).toBeUndefined();
  });

  it('reads the policy from INFO memory where CONFIG is disabled', async () => {
    const redis = client(managed);
    await expect(redis.config('GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/i);
    expect(await readEvictionPolicy(redis)).toBe('volatile-ttl');
    expect(await checkEvictionPolicy(redis)).toMatch(/^Redis maxmemory-policy is volatile-ttl;/);
  });

  it('stops the real ingest worker before it consumes anything, naming the setting', async () => {
    await client(open).config('SET', 'maxmemory-policy', 'allkeys-lru');
    const name = uniqueName('evict');
    // Its topics exist, so nothing but the check stops the worker.
    const kafka = testKafka();
    const topics = [`lt.${name}`, `lt.${name}.dlq`];
    await createTopics(
      kafka,
      topics.map((topic) => ({ topic, numPartitions: 1 })),
    );
    const worker = startService('ingest', {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      KAFKA_TOPIC: topics[0]!,
      KAFKA_DLQ_TOPIC: topics[1]!,
      KAFKA_GROUP_ID: name,
      REDIS_URL: open.url,
      REDIS_KEY_PREFIX: name,
      ...clickhouseEnv(),
      INGEST_HTTP_PORT: '0',
    });
    const code = await Promise.race([
      worker.exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000)),
    ]);
    if (code === 'still running after 30 s') await worker.stop('SIGKILL');
    await deleteTopics(kafka, topics);
    expect(code, worker.output().slice(-2000)).toBe(1);
    expect(worker.output()).toMatch(/maxmemory-policy is allkeys-lru; ingest needs noeviction/);
    expect(worker.output()).not.toMatch(/ingest running/);
  });
});
