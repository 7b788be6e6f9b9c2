import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { createHistoryClient } from '@livetally/history';
import { createKafka } from '@livetally/kafka';
import { createRedisClient, type AnyRedis } from '@livetally/live-state';
import type { Logger } from '@livetally/logging';
import type { IngestConfig } from './config';

/** A worker's connections, made from its config; none is opened until start-up asks. */
export interface IngestClients {
  /** One Redis, or a Redis Cluster client when REDIS_CLUSTER_NODES is set. */
  redis: AnyRedis;
  clickhouse: ClickHouseClient;
  producer: Producer;
  consumer: Consumer;
  admin: Admin;
}

export function createIngestClients(config: IngestConfig, logger: Logger): IngestClients {
  // While Redis is unreachable every command fails at once (no offline queue; in-flight
  // commands are rejected on disconnect, not resent) and the batch retry owns retrying;
  // the connection itself is re-established forever in the background.
  // On a cluster, a command caught by a failover is retried by the client on the new master
  // (an apply sent twice is refused by its offset fence) until the slot map settles.
  const redis = createRedisClient(config.redis, {
    redis: {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 5_000,
      connectTimeout: 3_000,
      retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    },
    onError: (err) => logger.warn({ err: err.message }, 'redis error'),
  });
  const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers, logger });
  return {
    redis,
    clickhouse: createHistoryClient({ ...config.clickhouse, requestTimeoutMs: 15_000 }),
    producer: kafka.producer({ idempotent: true, maxInFlightRequests: 1 }),
    consumer: kafka.consumer({
      groupId: config.kafka.groupId,
      maxBytesPerPartition: config.kafka.maxBytesPerPartition,
      maxBytes: config.kafka.maxBytes,
      minBytes: config.kafka.minBytes,
      maxWaitTimeInMs: config.kafka.maxWaitTimeInMs,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: config.kafka.heartbeatMs,
    }),
    admin: kafka.admin(),
  };
}

/**
 * The worker's Redis as the parts not yet moved to ADR 0003's layout type it (campaign catalogue
 * and backfills, rebuild, the per-group offsets upgrade: Milestone 2, docs/adr/0003-progress.md).
 * They send the same commands to a Cluster client; those that span slots are refused there with
 * CROSSSLOT, which is the known gap, not a wrong type.
 */
export function redisBeforeClusterLayout(redis: AnyRedis): Redis {
  return redis as Redis;
}

/** Both stores answer within 3 s: Redis PING, ClickHouse /ping. */
export async function probeStores({ redis, clickhouse }: Pick<IngestClients, 'redis' | 'clickhouse'>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error('store probe timed out after 3 s')), 3_000)),
  );
  const ping = async () => {
    await redis.ping();
    const ch = await clickhouse.ping();
    if (!ch.success) throw ch.error;
  };
  try {
    await Promise.race([ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Leaves the connections in order: Kafka clients, then ClickHouse, then Redis (QUIT if it answers, else just the socket). */
export async function closeIngestClients(clients: IngestClients): Promise<void> {
  await clients.producer.disconnect().catch(() => undefined);
  await clients.admin.disconnect().catch(() => undefined);
  await clients.clickhouse.close().catch(() => undefined);
  if (clients.redis.status === 'ready')
    await Promise.race([clients.redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
  clients.redis.disconnect();
}

/** Past the shutdown deadline: drop every connection without waiting for answers. */
export function dropIngestClients(clients: IngestClients): void {
  clients.redis.disconnect();
  void clients.clickhouse.close().catch(() => undefined);
  void clients.consumer.disconnect().catch(() => undefined);
  void clients.producer.disconnect().catch(() => undefined);
  void clients.admin.disconnect().catch(() => undefined);
}
