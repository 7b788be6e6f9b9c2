import { int, loadConfigOrExit, oneOf, parseEnv, str, url, type Env } from '@livetally/config';

/** Every setting the gateway reads from the environment, declared once. */
const schema = {
  GATEWAY_HOST: str('127.0.0.1'),
  // 0 asks the OS for a free port (tests use it).
  GATEWAY_PORT: int(8080, 0, 65_535),
  REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  REDIS_KEY_PREFIX: str('lt'),
  LIVE_TICK_MS: int(1000, 50, 60_000),
  LOG_LEVEL: oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  WS_MAX_SUBSCRIPTIONS: int(50, 1, 10_000),
  WS_MAX_MESSAGE_BYTES: int(4096, 64, 1_048_576),
  WS_HEARTBEAT_MS: int(15_000, 1_000, 600_000),
  // History, campaigns and the engineers' SQL endpoint (src/http/).
  // Where ingest records applied offsets; campaign backfills cut at them.
  KAFKA_TOPIC: str('livetally.events'),
  KAFKA_GROUP_ID: str('ingest'),
  CLICKHOUSE_URL: url('http://127.0.0.1:8123', ['http:', 'https:']),
  CLICKHOUSE_USER: str('default'),
  CLICKHOUSE_PASSWORD: str(''),
  CLICKHOUSE_DATABASE: str('default'),
  SQL_MAX_SECONDS: int(10, 1, 3_600),
  SQL_MAX_ROWS: int(10_000, 1, 100_000_000),
  SQL_MAX_MEMORY_BYTES: int(1_073_741_824, 1_048_576, Number.MAX_SAFE_INTEGER),
};

export interface GatewayConfig {
  host: string;
  port: number;
  redisUrl: string;
  redisKeyPrefix: string;
  liveTickMs: number;
  logLevel: string;
  wsMaxSubscriptions: number;
  wsMaxMessageBytes: number;
  wsHeartbeatMs: number;
  /** The ingest topic and consumer group whose applied offsets campaign backfills cut at. */
  ingest: { topic: string; groupId: string };
  clickhouse: { url: string; username: string; password: string; database: string };
  /** Limits every POST /v1/sql query runs under (ClickHouse max_execution_time, max_result_rows, max_memory_usage). */
  sql: { maxSeconds: number; maxRows: number; maxMemoryBytes: number };
}

/** Parses the given environment; throws ConfigError naming every bad variable. */
export function parseGatewayConfig(env: Env): GatewayConfig {
  const e = parseEnv(env, schema);
  return {
    host: e.GATEWAY_HOST,
    port: e.GATEWAY_PORT,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    liveTickMs: e.LIVE_TICK_MS,
    logLevel: e.LOG_LEVEL,
    wsMaxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
    wsMaxMessageBytes: e.WS_MAX_MESSAGE_BYTES,
    wsHeartbeatMs: e.WS_HEARTBEAT_MS,
    ingest: { topic: e.KAFKA_TOPIC, groupId: e.KAFKA_GROUP_ID },
    clickhouse: { url: e.CLICKHOUSE_URL, username: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD, database: e.CLICKHOUSE_DATABASE },
    sql: { maxSeconds: e.SQL_MAX_SECONDS, maxRows: e.SQL_MAX_ROWS, maxMemoryBytes: e.SQL_MAX_MEMORY_BYTES },
  };
}

/** The one place the gateway reads process.env; bad values stop start-up with exit code 2. */
export function loadGatewayConfig(): GatewayConfig {
  return loadConfigOrExit(() => parseGatewayConfig(process.env));
}
