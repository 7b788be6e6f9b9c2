import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { LiveEvent } from '@livetally/events';
import { parseGatewayConfig, startGateway, type RunningGateway, type StartOptions } from '@livetally/gateway';
import { EventHistory, createHistoryClient, migrate, toEventRow } from '@livetally/history';
import { createLogger } from '@livetally/logging';
import { STACK, clickhouseEnv, uniqueName, waitFor } from './stack';

/**
 * A unique ClickHouse database (migrated, optionally seeded through EventHistory exactly
 * as ingest writes it) and a gateway started in-process against it with a unique Redis
 * key prefix. For the gateway's history, campaign and SQL tests.
 */
export interface HistoryFixture {
  database: string;
  prefix: string;
  /** Client on the test database. */
  client: ClickHouseClient;
  gateway: RunningGateway;
  close(): Promise<void>;
}

export async function createHistoryDatabase(
  tag: string,
  events: readonly LiveEvent[] = [],
  /** The Kafka topic the rows say they were read from (rebuild and reconcile read one topic's rows). */
  topic = 't',
): Promise<{ database: string; client: ClickHouseClient; drop(): Promise<void> }> {
  const database = uniqueName(tag);
  const admin = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter });
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  const client = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter, database });
  await migrate(client);
  const history = new EventHistory(client);
  for (let i = 0; i < events.length; i += 5_000) {
    const rows = events
      .slice(i, i + 5_000)
      .map((e, j) => toEventRow(e, { topic, partition: 0, offset: String(i + j) }));
    await history.insertEvents(rows, `t:0:${i}`);
  }
  return {
    database,
    client,
    async drop() {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
      await client.close();
      await admin.close();
    },
  };
}

export async function startHistoryGateway(
  tag: string,
  events: readonly LiveEvent[],
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<HistoryFixture> {
  const db = await createHistoryDatabase(tag, events);
  const prefix = uniqueName(`lt-test-${tag}`);
  const gateway = await startGatewayOn(db.database, prefix, env, options);
  return {
    database: db.database,
    prefix,
    client: db.client,
    gateway,
    async close() {
      await gateway.stop();
      await db.drop();
      const redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

/** A gateway started in-process on an existing database and Redis key prefix (several may share them). */
export async function startGatewayOn(
  database: string,
  prefix: string,
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<RunningGateway> {
  const config = parseGatewayConfig({
    // These tests are about history, campaigns and SQL; the access-control tests pass AUTH_ENV.
    GATEWAY_AUTH: 'off',
    GATEWAY_PORT: '0',
    REDIS_URL: STACK.redisUrl,
    ...clickhouseEnv(),
    CLICKHOUSE_DATABASE: database,
    LOG_LEVEL: 'silent',
    // Request floods have tests of their own (gateway-rate-limits); these send many queries from one address.
    GATEWAY_RATE_LIMIT_PER_MINUTE: '100000',
    GATEWAY_SQL_RATE_LIMIT_PER_MINUTE: '100000',
    ...env,
  });
  const gateway = await startGateway(config, createLogger({ service: 'gateway', level: 'silent' }), {
    keyPrefix: prefix,
    ...options,
  });
  // Its Redis connection fails fast instead of queueing, so campaign calls wait for readiness.
  await waitFor('gateway ready', async () => gateway.isReady(), 10_000, 20);
  return gateway;
}
