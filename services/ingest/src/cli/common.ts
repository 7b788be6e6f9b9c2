import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '@livetally/config';
import { createHistoryClient, type HistoryClientOptions } from '@livetally/history';
import { createRedisClient, type AnyRedis, type RedisTarget } from '@livetally/live-state';
import { UsageError } from './config';

/** Exit codes shared by the operator commands. */
export const EXIT = { ok: 0, differ: 1, usage: 2, error: 3 } as const;

export interface Connections {
  redis: AnyRedis;
  clickhouse: ClickHouseClient;
  close(): Promise<void>;
}

export async function connect(options: { redis: RedisTarget; clickhouse: HistoryClientOptions }): Promise<Connections> {
  // Fail fast instead of queueing forever when Redis is down: an operator is waiting.
  const redis = createRedisClient(options.redis, {
    redis: {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      connectTimeout: 10_000,
      retryStrategy: (n) => (n > 3 ? null : 200 * n),
    },
    cluster: { clusterRetryStrategy: (n) => (n > 3 ? null : 200 * n) },
    onError: () => undefined, // surfaced by the failing command instead
  });
  const clickhouse = createHistoryClient(options.clickhouse);
  try {
    await redis.connect();
  } catch (err) {
    await clickhouse.close().catch(() => undefined);
    throw new Error(`cannot connect to Redis: ${(err as Error).message}`, { cause: err });
  }
  return {
    redis,
    clickhouse,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await clickhouse.close().catch(() => undefined);
    },
  };
}

/** Progress on stderr with the elapsed time, so stdout stays the result (table or JSON). */
export function progressPrinter(name: string): (message: string) => void {
  const started = performance.now();
  return (message) =>
    process.stderr.write(`[${name} +${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

/** Runs a command and exits with its code; usage and configuration errors exit 2, failures 3. */
export function runCommand(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${name}: ${err.message}\n${usage}`);
        process.exit(EXIT.usage);
      }
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exit(EXIT.usage);
      }
      process.stderr.write(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(EXIT.error);
    },
  );
}
