import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { keySpace } from '@livetally/live-state';
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
 * Marks the prefix's live state as present, as the first worker of a fresh deployment
 * does (nothing in Redis, nothing in ClickHouse): counter-writing scripts refuse
 * without the marker (packages/live-state/src/live-state.ts).
 */
export async function markFreshDeployment(redis: Redis, prefix: string): Promise<void> {
  await redis.set(keySpace(prefix).liveState, 'ready');
}

export { deletePrefix } from '../../tests/support/stack';

export async function dropDatabase(ch: ClickHouseClient, database: string): Promise<void> {
  await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
}
