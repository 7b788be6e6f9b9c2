import {
  bool,
  clickHouseUrlField,
  describeEnv,
  hostPorts,
  int,
  oneOf,
  parseEnv,
  redisClusterNodesField,
  redisUrlField,
  str,
  type Env,
} from '@livetally/config';
import { DEFAULT_KEY_PREFIX } from '@livetally/live-state';
import { TOPICS } from '@livetally/events';

/** The ClickHouse the workers write to; every operator command reads it alike. */
export const CLICKHOUSE_FIELDS = {
  CLICKHOUSE_URL: clickHouseUrlField,
  CLICKHOUSE_USER: str('default'),
  CLICKHOUSE_PASSWORD: str(''),
  CLICKHOUSE_DATABASE: str('default'),
};

export function clickHouseSettings(c: ReturnType<typeof parseEnv<typeof CLICKHOUSE_FIELDS>>) {
  return {
    url: c.CLICKHOUSE_URL,
    username: c.CLICKHOUSE_USER,
    password: c.CLICKHOUSE_PASSWORD,
    database: c.CLICKHOUSE_DATABASE,
  };
}

/**
 * Where a worker's state lives: its topic and group, Redis keys and ClickHouse database.
 * The operator commands (cli/config.ts) read the same variables with the same defaults,
 * so run with the workers' environment they act on exactly the workers' state.
 */
export const WORKER_STATE_FIELDS = {
  KAFKA_TOPIC: str(TOPICS.events),
  REDIS_URL: redisUrlField,
  REDIS_KEY_PREFIX: str(DEFAULT_KEY_PREFIX),
  ...CLICKHOUSE_FIELDS,
};

/**
 * The resend window, shared by the workers and rebuild (which restores its fingerprints).
 * Default 1 h: an SDK batch is retried for at most ~100 s (giveUpAfterMs 60 s plus one
 * request timeout and backoff), and every hour of window costs Redis memory per event
 * (docs/configuration.md gives the measured figures).
 */
export const DEDUP_FIELDS = {
  INGEST_DEDUP_WINDOW_SECONDS: int(3_600, 60, 30 * 86_400),
  INGEST_DEDUP_BUCKETS_PER_HOUR: int(4_096, 1, 16_777_216),
};

export const LOG_LEVEL_FIELD = oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const);

/** Every setting a worker reads from the environment, declared once. */
const schema = {
  KAFKA_BROKERS: hostPorts('127.0.0.1:9092'),
  ...WORKER_STATE_FIELDS,
  REDIS_CLUSTER_NODES: redisClusterNodesField,
  // The consumer group only spreads partitions over workers; positions come from the live state.
  KAFKA_GROUP_ID: str('ingest'),
  KAFKA_DLQ_TOPIC: str(TOPICS.deadLetters),
  // Dead letters go out in produce requests of at most this many bytes; keep it under the
  // DLQ topic's max.message.bytes (Kafka's default is 1 MiB).
  INGEST_DLQ_MAX_REQUEST_BYTES: int(512 * 1024, 32 * 1024, 64 * 1_048_576),
  KAFKA_CLIENT_ID: str('livetally-ingest'),
  INGEST_HTTP_PORT: int(9464, 0, 65535),
  INGEST_HTTP_HOST: str('127.0.0.1'),
  // Fetch sizes: larger batches spread each batch's fixed costs (resend claims and one
  // atomic apply) over more events when there is a backlog;
  // with no backlog a fetch returns what is there, so they do not add latency.
  INGEST_MAX_BYTES_PER_PARTITION: int(4 * 1_048_576, 1024, 64 * 1_048_576),
  INGEST_MAX_BYTES: int(32 * 1_048_576, 1024, 256 * 1_048_576),
  INGEST_FETCH_MIN_BYTES: int(1, 1, 64 * 1_048_576),
  INGEST_FETCH_MAX_WAIT_MS: int(5_000, 0, 60_000),
  // Partition batches a worker processes at once: while one waits for Redis another is
  // decoded and planned. Default 12, the events topic's partition count.
  INGEST_PARTITIONS_CONCURRENTLY: int(12, 1, 1024),
  INGEST_SESSION_TIMEOUT_MS: int(30_000, 6_000, 300_000),
  INGEST_HEARTBEAT_MS: int(3_000, 100, 60_000),
  INGEST_RETRY_MAX_MS: int(10_000, 100, 300_000),
  // ClickHouse gets few, large inserts: one per worker when this many rows wait, or when
  // the oldest waited INGEST_FLUSH_MS; batches wait beyond INGEST_MAX_BUFFERED_ROWS.
  INGEST_FLUSH_ROWS: int(20_000, 1, 1_000_000),
  INGEST_FLUSH_MS: int(500, 10, 60_000),
  INGEST_MAX_BUFFERED_ROWS: int(200_000, 1, 10_000_000),
  INGEST_SHUTDOWN_TIMEOUT_MS: int(20_000, 1000, 300_000),
  ...DEDUP_FIELDS,
  // Redis empty but ClickHouse not (Redis lost its data): rebuild from this worker
  // instead of waiting for `npm run rebuild`. The grace must outlast any insert.
  INGEST_AUTO_REBUILD: bool(false),
  INGEST_REBUILD_GRACE_MS: int(35_000, 0, 600_000),
  LOG_LEVEL: LOG_LEVEL_FIELD,
};

/** What each variable sets; .env.example is generated from it (npm run env:example). */
export const INGEST_ENV = describeEnv(schema, {
  KAFKA_BROKERS: 'Kafka bootstrap brokers, host:port[,host:port…].',
  KAFKA_TOPIC: 'Events topic the workers read.',
  REDIS_URL: 'Redis holding the live state (totals, leaderboards, applied offsets).',
  REDIS_KEY_PREFIX: 'Prefix of every Redis key; the gateway, rebuild and reconcile use the same.',
  REDIS_CLUSTER_NODES:
    'A Redis Cluster’s seed nodes, host:port[,host:port…]; set, the workers use it instead of REDIS_URL (whose credentials and TLS still apply).',
  CLICKHOUSE_URL: 'ClickHouse storing every counted event.',
  CLICKHOUSE_USER: 'ClickHouse account the workers write with.',
  CLICKHOUSE_PASSWORD: 'Password of CLICKHOUSE_USER.',
  CLICKHOUSE_DATABASE: 'ClickHouse database of the event tables.',
  KAFKA_GROUP_ID: 'Consumer group spreading partitions over workers (positions come from the live state).',
  KAFKA_DLQ_TOPIC: 'Topic rejected events are written to, with the reason.',
  INGEST_DLQ_MAX_REQUEST_BYTES: 'Largest dead-letter produce request; below the DLQ topic’s max.message.bytes.',
  KAFKA_CLIENT_ID: 'Client id Kafka sees for the workers.',
  INGEST_HTTP_PORT: 'Port of the worker’s /metrics, /healthz and /readyz; 0 picks a free one.',
  INGEST_HTTP_HOST: 'Interface of the worker’s /metrics, /healthz and /readyz.',
  INGEST_MAX_BYTES_PER_PARTITION: 'Most bytes one fetch takes from a partition.',
  INGEST_MAX_BYTES: 'Most bytes one fetch takes in all.',
  INGEST_FETCH_MIN_BYTES: 'Bytes a fetch waits for before answering.',
  INGEST_FETCH_MAX_WAIT_MS: 'Longest a fetch waits for INGEST_FETCH_MIN_BYTES.',
  INGEST_PARTITIONS_CONCURRENTLY: 'Partition batches a worker processes at once.',
  INGEST_SESSION_TIMEOUT_MS: 'A worker silent this long loses its partitions to the others.',
  INGEST_HEARTBEAT_MS: 'Heartbeat interval of the consumer group, also during long batches.',
  INGEST_RETRY_MAX_MS: 'Cap of the exponential backoff of a failing batch.',
  INGEST_FLUSH_ROWS: 'One ClickHouse insert per worker once this many rows wait…',
  INGEST_FLUSH_MS: '…or once the oldest row waited this long.',
  INGEST_MAX_BUFFERED_ROWS: 'Rows held for ClickHouse beyond which batches wait.',
  INGEST_SHUTDOWN_TIMEOUT_MS:
    'How long SIGTERM waits for running batches and the last ClickHouse insert before the process exits 1.',
  INGEST_DEDUP_WINDOW_SECONDS: 'A platform’s resend of the same eventId counts once within this window.',
  INGEST_DEDUP_BUCKETS_PER_HOUR: 'Redis hashes per event hour holding the resend fingerprints.',
  INGEST_AUTO_REBUILD:
    'true: when Redis lost its state but ClickHouse has events, a worker rebuilds it instead of waiting for npm run rebuild.',
  INGEST_REBUILD_GRACE_MS: 'How long the automatic rebuild waits first; must outlast any ClickHouse insert.',
  LOG_LEVEL: 'Log level: fatal, error, warn, info, debug or trace.',
});

export function parseIngestConfig(env: Env) {
  const c = parseEnv(env, schema);
  return {
    kafka: {
      brokers: c.KAFKA_BROKERS,
      topic: c.KAFKA_TOPIC,
      dlqTopic: c.KAFKA_DLQ_TOPIC,
      groupId: c.KAFKA_GROUP_ID,
      clientId: c.KAFKA_CLIENT_ID,
      maxBytesPerPartition: c.INGEST_MAX_BYTES_PER_PARTITION,
      maxBytes: c.INGEST_MAX_BYTES,
      minBytes: c.INGEST_FETCH_MIN_BYTES,
      maxWaitTimeInMs: c.INGEST_FETCH_MAX_WAIT_MS,
      partitionsConcurrently: c.INGEST_PARTITIONS_CONCURRENTLY,
      sessionTimeoutMs: c.INGEST_SESSION_TIMEOUT_MS,
      heartbeatMs: c.INGEST_HEARTBEAT_MS,
    },
    redis: { url: c.REDIS_URL, clusterNodes: c.REDIS_CLUSTER_NODES, keyPrefix: c.REDIS_KEY_PREFIX },
    clickhouse: clickHouseSettings(c),
    http: { host: c.INGEST_HTTP_HOST, port: c.INGEST_HTTP_PORT },
    dedup: { windowSeconds: c.INGEST_DEDUP_WINDOW_SECONDS, bucketsPerHour: c.INGEST_DEDUP_BUCKETS_PER_HOUR },
    autoRebuild: { enabled: c.INGEST_AUTO_REBUILD, graceMs: c.INGEST_REBUILD_GRACE_MS },
    retryMaxMs: c.INGEST_RETRY_MAX_MS,
    flush: { maxRows: c.INGEST_FLUSH_ROWS, maxWaitMs: c.INGEST_FLUSH_MS, maxBufferedRows: c.INGEST_MAX_BUFFERED_ROWS },
    shutdownTimeoutMs: c.INGEST_SHUTDOWN_TIMEOUT_MS,
    deadLetters: { maxRequestBytes: c.INGEST_DLQ_MAX_REQUEST_BYTES },
    logLevel: c.LOG_LEVEL,
  };
}

export type IngestConfig = ReturnType<typeof parseIngestConfig>;
