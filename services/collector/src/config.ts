import { readFileSync } from 'node:fs';
import * as field from '@livetally/config';
import { ConfigError, describeEnv, loadConfigOrExit, parseEnvInto, type Env } from '@livetally/config';
import { DEFAULT_KEY_PREFIX } from '@livetally/live-state';
import { TOPICS } from '@livetally/events';
import { checkApiKeys, parseApiKeyFile, parseApiKeyList, type ApiKeyEntry } from './api-keys';

/** Every setting the collector reads from the environment, declared once. */
const schema = {
  COLLECTOR_HOST: field.str('127.0.0.1'),
  // 0 asks the OS for a free port (tests use it).
  COLLECTOR_PORT: field.int(8090, 0, 65_535),
  // GET /metrics has its own listener, loopback by default (metrics-server.ts); 0 = the OS picks.
  COLLECTOR_METRICS_HOST: field.str('127.0.0.1'),
  COLLECTOR_METRICS_PORT: field.int(9466, 0, 65_535),
  KAFKA_BROKERS: field.hostPorts('127.0.0.1:9092'),
  KAFKA_TOPIC: field.str(TOPICS.events),
  KAFKA_CLIENT_ID: field.str('livetally-collector'),
  // Exactly one of the two; the empty default means "not given".
  COLLECTOR_API_KEYS: field.str(''),
  COLLECTOR_API_KEYS_FILE: field.str(''),
  COLLECTOR_MAX_BATCH_EVENTS: field.int(1000, 1, 10_000),
  COLLECTOR_MAX_BODY_BYTES: field.int(1_048_576, 1024, 16 * 1_048_576),
  COLLECTOR_RATE_LIMIT_EVENTS_PER_SEC: field.int(10_000, 1, 10_000_000),
  COLLECTOR_RATE_LIMIT_BURST: field.int(20_000, 1, 100_000_000),
  // The per-platform counters live here (keys under <REDIS_KEY_PREFIX>:rl:collector), so every instance enforces one limit.
  REDIS_URL: field.redisUrlField,
  REDIS_CLUSTER_NODES: field.redisClusterNodesField,
  REDIS_KEY_PREFIX: field.str(DEFAULT_KEY_PREFIX),
  COLLECTOR_PRODUCE_TIMEOUT_MS: field.int(10_000, 100, 120_000),
  // Record bytes per produce request; keep it at or below the topic's max.message.bytes (the
  // broker's default is 1 MiB + 12). At least two of the largest events (16 KiB each) fit.
  COLLECTOR_MAX_PRODUCE_BYTES: field.int(1_048_576, 32_768, 16 * 1_048_576),
  COLLECTOR_MAX_PENDING_EVENTS: field.int(100_000, 1, 10_000_000),
  COLLECTOR_SHUTDOWN_TIMEOUT_MS: field.int(15_000, 1_000, 300_000),
  LOG_LEVEL: field.logLevelField,
};

/** What each variable sets; .env.example is generated from it (npm run env:example). */
export const COLLECTOR_ENV = describeEnv(schema, {
  COLLECTOR_HOST: 'Interface the platforms’ HTTP API listens on; 127.0.0.1 keeps it on this machine.',
  COLLECTOR_PORT: 'Port of the platforms’ HTTP API (POST /v1/events); 0 picks a free one.',
  COLLECTOR_METRICS_HOST:
    'Interface of the GET /metrics listener; open it wider only to a network where just the scraper is.',
  COLLECTOR_METRICS_PORT: 'Port of the GET /metrics listener; 0 picks a free one.',
  KAFKA_BROKERS: 'Kafka bootstrap brokers, host:port[,host:port…].',
  KAFKA_TOPIC: 'Topic the accepted events are produced to.',
  KAFKA_CLIENT_ID: 'Client id Kafka sees for the collector.',
  COLLECTOR_API_KEYS:
    'Platform API keys, platform:key[,platform:key…] (several keys per platform for rotation); set this or COLLECTOR_API_KEYS_FILE, exactly one.',
  COLLECTOR_API_KEYS_FILE:
    'Instead of COLLECTOR_API_KEYS: a JSON file { "douyin": "<key>", "taobao": ["<old>", "<new>"] }.',
  COLLECTOR_MAX_BATCH_EVENTS: 'Most events in one request (1..10000).',
  COLLECTOR_MAX_BODY_BYTES: 'Largest request body, raw and after gzip inflation.',
  COLLECTOR_RATE_LIMIT_EVENTS_PER_SEC:
    'Events per second per platform over every collector instance (counted in Redis).',
  COLLECTOR_RATE_LIMIT_BURST: 'Events a platform may send at once; at least COLLECTOR_MAX_BATCH_EVENTS.',
  REDIS_URL: 'Redis holding the per-platform rate-limit counters, shared by every instance.',
  REDIS_CLUSTER_NODES:
    'A Redis Cluster’s seed nodes, host:port[,host:port…]; set, the rate-limit counters live there instead of at REDIS_URL (whose credentials and TLS still apply).',
  REDIS_KEY_PREFIX: 'Prefix of the collector’s Redis keys (<prefix>:rl:collector).',
  COLLECTOR_PRODUCE_TIMEOUT_MS: 'How long a request waits for Kafka before answering 503.',
  COLLECTOR_MAX_PRODUCE_BYTES:
    'Record bytes per produce request (a larger request is split); keep it at or below the topic’s max.message.bytes.',
  COLLECTOR_MAX_PENDING_EVENTS: 'Events waiting for Kafka above which requests get 503 at once.',
  COLLECTOR_SHUTDOWN_TIMEOUT_MS: 'How long SIGTERM waits for requests in flight before the process exits 1.',
  LOG_LEVEL: 'Log level: fatal, error, warn, info, debug, trace or silent.',
});

export interface CollectorConfig {
  host: string;
  port: number;
  /** Where GET /metrics listens; never on the platforms' port. */
  metricsListen: { host: string; port: number };
  kafka: { brokers: string[]; topic: string; clientId: string };
  /** Never log this field: it holds the secrets (the logger redacts `apiKeys` too). */
  apiKeys: ApiKeyEntry[];
  maxBatchEvents: number;
  maxBodyBytes: number;
  /** Never log: may hold a password (the logger redacts config.redisUrl). */
  redisUrl: string;
  /** REDIS_CLUSTER_NODES: empty for one Redis at redisUrl. */
  redisClusterNodes: string[];
  /** At most `burst` events per platform per window of burst / eventsPerSecond seconds, counted in Redis under keyPrefix. */
  rateLimit: { eventsPerSecond: number; burst: number; keyPrefix: string };
  produceTimeoutMs: number;
  /** Most record bytes (keys, values, framing) in one produce request; a larger request is split. */
  maxProduceBytes: number;
  maxPendingEvents: number;
  shutdownTimeoutMs: number;
  logLevel: string;
}

/**
 * Parses the given environment; throws ConfigError naming every bad variable.
 * `readFile` is injectable so tests need no files.
 */
export function parseCollectorConfig(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): CollectorConfig {
  const problems: string[] = [];
  const e = parseEnvInto(env, schema, problems);
  const apiKeys = loadApiKeys(env, readFile, problems);
  if (e && e.COLLECTOR_RATE_LIMIT_BURST < e.COLLECTOR_MAX_BATCH_EVENTS) {
    // A burst smaller than a full batch would answer 429 to every full batch forever.
    problems.push(
      `COLLECTOR_RATE_LIMIT_BURST must be at least COLLECTOR_MAX_BATCH_EVENTS (${e.COLLECTOR_MAX_BATCH_EVENTS}), got ${e.COLLECTOR_RATE_LIMIT_BURST}`,
    );
  }
  if (problems.length > 0 || !e) throw new ConfigError(problems);
  return {
    host: e.COLLECTOR_HOST,
    port: e.COLLECTOR_PORT,
    metricsListen: { host: e.COLLECTOR_METRICS_HOST, port: e.COLLECTOR_METRICS_PORT },
    kafka: { brokers: e.KAFKA_BROKERS, topic: e.KAFKA_TOPIC, clientId: e.KAFKA_CLIENT_ID },
    apiKeys,
    maxBatchEvents: e.COLLECTOR_MAX_BATCH_EVENTS,
    maxBodyBytes: e.COLLECTOR_MAX_BODY_BYTES,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    rateLimit: {
      eventsPerSecond: e.COLLECTOR_RATE_LIMIT_EVENTS_PER_SEC,
      burst: e.COLLECTOR_RATE_LIMIT_BURST,
      keyPrefix: `${e.REDIS_KEY_PREFIX}:rl:collector`,
    },
    produceTimeoutMs: e.COLLECTOR_PRODUCE_TIMEOUT_MS,
    maxProduceBytes: e.COLLECTOR_MAX_PRODUCE_BYTES,
    maxPendingEvents: e.COLLECTOR_MAX_PENDING_EVENTS,
    shutdownTimeoutMs: e.COLLECTOR_SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  };
}

function loadApiKeys(env: Env, readFile: (path: string) => string, problems: string[]): ApiKeyEntry[] {
  const list = env.COLLECTOR_API_KEYS?.trim() || undefined;
  const file = env.COLLECTOR_API_KEYS_FILE?.trim() || undefined;
  if (list && file) {
    problems.push('COLLECTOR_API_KEYS and COLLECTOR_API_KEYS_FILE are both set; set exactly one');
    return [];
  }
  if (!list && !file) {
    problems.push('COLLECTOR_API_KEYS (platform:key,…) or COLLECTOR_API_KEYS_FILE (a JSON file) is required');
    return [];
  }
  const [name, parsed] = list
    ? ['COLLECTOR_API_KEYS', parseApiKeyList(list)]
    : ['COLLECTOR_API_KEYS_FILE', readKeyFile(file!, readFile)];
  if (typeof parsed === 'string') {
    problems.push(`${name} ${parsed}`);
    return [];
  }
  problems.push(...checkApiKeys(parsed, name));
  return parsed;
}

function readKeyFile(path: string, readFile: (path: string) => string): ApiKeyEntry[] | string {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return `cannot be read (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const parsed = parseApiKeyFile(text);
  return typeof parsed === 'string' ? `(${path}) ${parsed}` : parsed;
}

/** The one place the collector reads process.env; bad values stop start-up with exit code 2. */
export function loadCollectorConfig(): CollectorConfig {
  return loadConfigOrExit(() => parseCollectorConfig(process.env));
}
