import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { keySpace, partitionTag } from '@livetally/live-state';
import { STACK } from './stack';

export function benchRedis(): Redis {
  return new Redis(STACK.redisUrl, { maxRetriesPerRequest: 2, connectionName: 'lt-bench' });
}

export function benchClickhouse(database = 'default', requestTimeoutMs = 60_000): ClickHouseClient {
  return createClient({
    url: STACK.clickhouseUrl,
    ...STACK.clickhouseWriter,
    database,
    request_timeout: requestTimeoutMs,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1, date_time_output_format: 'simple' },
  });
}

/**
 * Marks the live state of the topic's partitions as present, as the first worker of a
 * fresh deployment does per partition (nothing in Redis, nothing in ClickHouse):
 * counter-writing scripts refuse without the partition's marker
 * (packages/live-state/src/live-state.ts, ADR 0003).
 */
export async function markFreshDeployment(
  redis: Redis,
  prefix: string,
  topic: string,
  partitions: number,
): Promise<void> {
  const keys = keySpace(prefix);
  for (let p = 0; p < partitions; p++) await redis.set(keys.liveState(partitionTag(topic, p)), 'ready');
}

export { deletePrefix } from '../../tests/support/stack';

export async function dropDatabase(ch: ClickHouseClient, database: string): Promise<void> {
  await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
}
