import { safeUrl } from '@livetally/logging';
import * as field from '@livetally/config';
import { ConfigError, describeEnv, loadConfigOrExit, parseEnvInto, type Env } from '@livetally/config';
import { DEFAULT_KEY_PREFIX } from '@livetally/live-state';
import { REQUIRED_WHEN, parseTokenSecrets } from './auth/keys';
import type { TokenKey } from './auth/token';

/** Every setting the gateway reads from the environment, declared once. */
const schema = {
  GATEWAY_HOST: field.str('127.0.0.1'),
  // 0 asks the OS for a free port (tests use it).
  GATEWAY_PORT: field.int(8080, 0, 65_535),
  REDIS_URL: field.redisUrlField,
  REDIS_CLUSTER_NODES: field.redisClusterNodesField,
  REDIS_KEY_PREFIX: field.str(DEFAULT_KEY_PREFIX),
  LIVE_TICK_MS: field.int(1000, 50, 60_000),
  // Changed totals go out this soon after the previous push, not on the next tick.
  LIVE_PUSH_INTERVAL_MS: field.int(100, 10, 60_000),
  LOG_LEVEL: field.logLevelField,
  // stop() past this: sockets and Redis connections are dropped and the process exits 1.
  GATEWAY_SHUTDOWN_TIMEOUT_MS: field.int(10_000, 1_000, 300_000),
  WS_MAX_SUBSCRIPTIONS: field.int(50, 1, 10_000),
  WS_MAX_MESSAGE_BYTES: field.int(4096, 64, 1_048_576),
  WS_HEARTBEAT_MS: field.int(15_000, 1_000, 600_000),
  // History, campaigns and the engineers' SQL endpoint (src/http/).
  CLICKHOUSE_URL: field.clickHouseUrlField,
  CLICKHOUSE_USER: field.str('default'),
  CLICKHOUSE_PASSWORD: field.str(''),
  CLICKHOUSE_DATABASE: field.str('default'),
  SQL_MAX_SECONDS: field.int(10, 1, 3_600),
  SQL_MAX_ROWS: field.int(10_000, 1, 100_000_000),
  SQL_MAX_MEMORY_BYTES: field.int(1_073_741_824, 1_048_576, Number.MAX_SAFE_INTEGER),
  // Comma-separated table functions engineers may read from (e.g. numbers); none by default.
  SQL_ALLOWED_TABLE_FUNCTIONS: field.str(''),
  // The ClickHouse user POST /v1/sql runs as: read-only in ClickHouse itself (readonly=2 profile, SELECT/SHOW grants only;
  // infra/clickhouse/users.d), checked before the first query. Default CLICKHOUSE_USER, which keeps the endpoint off.
  CLICKHOUSE_SQL_USER: field.str(''),
  CLICKHOUSE_SQL_PASSWORD: field.str(''),
  // Access control (src/auth/). GATEWAY_TOKEN_SECRETS is parsed on its own: its messages never quote it.
  GATEWAY_AUTH: field.oneOf('on', ['off', 'on'] as const),
  GATEWAY_TOKEN_SECRETS: field.str(''),
  GATEWAY_TOKEN_CLOCK_SKEW_SECONDS: field.int(30, 0, 600),
  GATEWAY_METRICS_PUBLIC: field.bool(false),
  // Hardening: WebSocket origins and caps, HTTP body size and timeouts, proxies.
  GATEWAY_ALLOWED_ORIGINS: field.str(''),
  GATEWAY_TRUST_PROXY: field.str(''),
  GATEWAY_BODY_LIMIT_BYTES: field.int(65_536, 1024, 16 * 1_048_576),
  GATEWAY_CONNECTION_TIMEOUT_MS: field.int(120_000, 1_000, 3_600_000),
  GATEWAY_REQUEST_TIMEOUT_MS: field.int(30_000, 1_000, 600_000),
  GATEWAY_KEEP_ALIVE_TIMEOUT_MS: field.int(72_000, 1_000, 600_000),
  WS_MAX_CONNECTIONS: field.int(10_000, 1, 1_000_000),
  WS_MAX_CONNECTIONS_PER_IP: field.int(100, 1, 1_000_000),
  WS_FRAME_RATE: field.int(20, 1, 10_000),
  WS_FRAME_BURST: field.int(40, 1, 100_000),
  // Request floods (src/http/rate-limit.ts): per token subject, or per client address without a valid token, in a
  // one-minute window counted in Redis under <REDIS_KEY_PREFIX>:rl, so that every gateway instance enforces one limit.
  GATEWAY_RATE_LIMIT_PER_MINUTE: field.int(600, 1, 1_000_000),
  GATEWAY_SQL_RATE_LIMIT_PER_MINUTE: field.int(30, 1, 1_000_000),
  // Live subscriptions over all connections of this process, and over all connections of one token subject to every
  // gateway sharing REDIS_KEY_PREFIX (src/live/redis-owner-quota.ts): each gateway's share of a token's count lives in
  // Redis for WS_SUBSCRIPTION_SHARE_TTL_MS after its last refresh, so a crashed gateway's share is released then.
  WS_MAX_SUBSCRIPTIONS_TOTAL: field.int(100_000, 1, 10_000_000),
  WS_MAX_SUBSCRIPTIONS_PER_TOKEN: field.int(1_000, 1, 1_000_000),
  WS_SUBSCRIPTION_SHARE_TTL_MS: field.int(30_000, 1_000, 600_000),
};

/** What each variable sets; .env.example is generated from it (npm run env:example). */
export const GATEWAY_ENV = describeEnv(schema, {
  GATEWAY_HOST: 'Interface the REST API, live WebSocket and dashboard listen on; 127.0.0.1 keeps them on this machine.',
  GATEWAY_PORT: 'Port of the gateway; 0 picks a free one.',
  REDIS_URL: 'Redis holding the live state ingest writes, the rate-limit counters and the subscription quotas.',
  REDIS_CLUSTER_NODES:
    'A Redis Cluster’s seed nodes, host:port[,host:port…]; set, the gateway uses it instead of REDIS_URL (whose credentials and TLS still apply).',
  REDIS_KEY_PREFIX: 'Prefix of every Redis key; the same as the ingest workers’.',
  LIVE_TICK_MS: 'Time-based live channels (windows, series) refresh every tick.',
  LIVE_PUSH_INTERVAL_MS: 'Changed totals are pushed at most this often, not on the tick.',
  LOG_LEVEL: 'Log level: fatal, error, warn, info, debug, trace or silent.',
  GATEWAY_SHUTDOWN_TIMEOUT_MS: 'How long SIGTERM waits for requests and live connections before the process exits 1.',
  WS_MAX_SUBSCRIPTIONS: 'Live subscriptions per connection.',
  WS_MAX_MESSAGE_BYTES: 'Largest client frame on a live connection.',
  WS_HEARTBEAT_MS: 'Ping interval of live connections; one that did not answer the previous ping is closed.',
  CLICKHOUSE_URL: 'ClickHouse holding the event history.',
  CLICKHOUSE_USER: 'ClickHouse account for history and campaign queries.',
  CLICKHOUSE_PASSWORD: 'Password of CLICKHOUSE_USER.',
  CLICKHOUSE_DATABASE: 'ClickHouse database of the event tables.',
  SQL_MAX_SECONDS: 'Time limit of every POST /v1/sql query.',
  SQL_MAX_ROWS: 'Row limit of every POST /v1/sql query.',
  SQL_MAX_MEMORY_BYTES: 'Memory limit of every POST /v1/sql query.',
  SQL_ALLOWED_TABLE_FUNCTIONS:
    'Comma-separated table functions POST /v1/sql may read from (e.g. numbers); none by default.',
  CLICKHOUSE_SQL_USER: 'The read-only ClickHouse account POST /v1/sql runs as; empty keeps the endpoint off.',
  CLICKHOUSE_SQL_PASSWORD: 'Password of CLICKHOUSE_SQL_USER.',
  GATEWAY_AUTH: 'on: tokens required; off: everything open (a local demo only).',
  GATEWAY_TOKEN_SECRETS:
    'Token signing keys, kid:secret[,kid:secret…], each secret at least 32 bytes, the first signs; required unless GATEWAY_AUTH=off; never logged.',
  GATEWAY_TOKEN_CLOCK_SKEW_SECONDS: 'Tolerance on token times.',
  GATEWAY_METRICS_PUBLIC: 'true: GET /metrics without a token (only where just the scraper reaches the port).',
  GATEWAY_ALLOWED_ORIGINS:
    'Other origins whose pages may call the API (CORS) and open live connections, comma-separated, * any; empty: same origin only.',
  GATEWAY_TRUST_PROXY: 'Proxies whose X-Forwarded-For is believed; empty: none.',
  GATEWAY_BODY_LIMIT_BYTES: 'Largest request body (413 PAYLOAD_TOO_LARGE above it).',
  GATEWAY_CONNECTION_TIMEOUT_MS: 'Idle socket timeout; at least SQL_MAX_SECONDS + 15 s.',
  GATEWAY_REQUEST_TIMEOUT_MS: 'Time to receive a whole request.',
  GATEWAY_KEEP_ALIVE_TIMEOUT_MS: 'Keep-alive timeout of idle HTTP connections.',
  WS_MAX_CONNECTIONS: 'Live connections of this process (503 GATEWAY_FULL on upgrade above it).',
  WS_MAX_CONNECTIONS_PER_IP: 'Live connections per client address (429 TOO_MANY_CONNECTIONS above it).',
  WS_FRAME_RATE: 'Client frames per second per live connection.',
  WS_FRAME_BURST: 'Client frames a live connection may send at once.',
  GATEWAY_RATE_LIMIT_PER_MINUTE:
    'REST requests per minute per token subject (or client address without a valid token), over every gateway.',
  GATEWAY_SQL_RATE_LIMIT_PER_MINUTE: 'POST /v1/sql requests per minute, in their own budget.',
  WS_MAX_SUBSCRIPTIONS_TOTAL: 'Live subscriptions over every connection of this process.',
  WS_MAX_SUBSCRIPTIONS_PER_TOKEN:
    'Live subscriptions of one token subject over every gateway sharing REDIS_KEY_PREFIX.',
  WS_SUBSCRIPTION_SHARE_TTL_MS:
    'How long a gateway’s share of a token’s subscription count stays in Redis after its last refresh (a crashed gateway’s share is released then).',
});

export interface AuthConfig {
  /** on (the default): tokens required; off: everything open (local demo, set explicitly). */
  mode: 'off' | 'on';
  /** Never log: the secrets. The first key signs, all verify. Empty when not configured. */
  keys: TokenKey[];
  clockSkewSeconds: number;
  metricsPublic: boolean;
}

export interface HttpLimits {
  bodyLimit: number;
  /** Socket idle timeout; raised to SQL_MAX_SECONDS + 15 s so a slow query's answer is not cut. */
  connectionTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  trustProxy: boolean | string[];
  allowedOrigins: string[];
  wsMaxConnections: number;
  wsMaxConnectionsPerIp: number;
  wsFrameRate: number;
  wsFrameBurst: number;
  wsMaxSubscriptionsTotal: number;
  wsMaxSubscriptionsPerToken: number;
  /** How long a gateway's share of a token's subscriptions outlives its last refresh in Redis. */
  wsSubscriptionShareTtlMs: number;
  /** REST requests per minute per client, and for POST /v1/sql. */
  ratePerMinute: number;
  sqlRatePerMinute: number;
}

export interface GatewayConfig {
  host: string;
  port: number;
  redisUrl: string;
  /** REDIS_CLUSTER_NODES: empty for one Redis at redisUrl. */
  redisClusterNodes: string[];
  redisKeyPrefix: string;
  liveTickMs: number;
  livePushIntervalMs: number;
  logLevel: string;
  /** How long stop() may take before it drops what is left (GATEWAY_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  wsMaxSubscriptions: number;
  wsMaxMessageBytes: number;
  wsHeartbeatMs: number;
  clickhouse: { url: string; username: string; password: string; database: string };
  /** Limits every POST /v1/sql query runs under (ClickHouse max_execution_time, max_result_rows, max_memory_usage). */
  sql: { maxSeconds: number; maxRows: number; maxMemoryBytes: number; tableFunctions: string[] };
  /** Never log the password. */
  sqlCredentials: { username: string; password: string };
  auth: AuthConfig;
  limits: HttpLimits;
}

/** Parses the given environment; throws ConfigError naming every bad variable. */
export function parseGatewayConfig(env: Env): GatewayConfig {
  const problems: string[] = [];
  const parsed = parseEnvInto(env, schema, problems);
  // Validated whenever set (npm run token uses it with GATEWAY_AUTH=off too); required unless auth is off.
  const secretsRaw = env.GATEWAY_TOKEN_SECRETS?.trim();
  const authOn = !env.GATEWAY_AUTH || env.GATEWAY_AUTH === 'on';
  const secrets = secretsRaw || authOn ? parseTokenSecrets(secretsRaw) : undefined;
  if (secrets && !secrets.ok)
    problems.push(
      ...secrets.problems.map((p) => (secretsRaw ? p : `${p}; or GATEWAY_AUTH=off to run open (local demo only)`)),
    );
  const origins = parseOrigins(env.GATEWAY_ALLOWED_ORIGINS ?? '');
  if (typeof origins === 'string') problems.push(origins);
  if (problems.length > 0 || !parsed || typeof origins === 'string') throw new ConfigError(problems);
  const e = parsed;
  return {
    host: e.GATEWAY_HOST,
    port: e.GATEWAY_PORT,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    liveTickMs: e.LIVE_TICK_MS,
    livePushIntervalMs: e.LIVE_PUSH_INTERVAL_MS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.GATEWAY_SHUTDOWN_TIMEOUT_MS,
    wsMaxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
    wsMaxMessageBytes: e.WS_MAX_MESSAGE_BYTES,
    wsHeartbeatMs: e.WS_HEARTBEAT_MS,
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      username: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
    },
    sql: {
      maxSeconds: e.SQL_MAX_SECONDS,
      maxRows: e.SQL_MAX_ROWS,
      maxMemoryBytes: e.SQL_MAX_MEMORY_BYTES,
      tableFunctions: e.SQL_ALLOWED_TABLE_FUNCTIONS.split(',')
        .map((f) => f.trim())
        .filter(Boolean),
    },
    sqlCredentials: e.CLICKHOUSE_SQL_USER
      ? { username: e.CLICKHOUSE_SQL_USER, password: e.CLICKHOUSE_SQL_PASSWORD }
      : { username: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD },
    auth: {
      mode: e.GATEWAY_AUTH,
      keys: secrets?.ok ? secrets.keys : [],
      clockSkewSeconds: e.GATEWAY_TOKEN_CLOCK_SKEW_SECONDS,
      metricsPublic: e.GATEWAY_METRICS_PUBLIC,
    },
    limits: {
      bodyLimit: e.GATEWAY_BODY_LIMIT_BYTES,
      connectionTimeout: Math.max(e.GATEWAY_CONNECTION_TIMEOUT_MS, (e.SQL_MAX_SECONDS + 15) * 1000),
      requestTimeout: e.GATEWAY_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: e.GATEWAY_KEEP_ALIVE_TIMEOUT_MS,
      trustProxy: parseTrustProxy(e.GATEWAY_TRUST_PROXY),
      allowedOrigins: origins,
      wsMaxConnections: e.WS_MAX_CONNECTIONS,
      wsMaxConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
      wsFrameRate: e.WS_FRAME_RATE,
      wsFrameBurst: e.WS_FRAME_BURST,
      wsMaxSubscriptionsTotal: e.WS_MAX_SUBSCRIPTIONS_TOTAL,
      wsMaxSubscriptionsPerToken: e.WS_MAX_SUBSCRIPTIONS_PER_TOKEN,
      wsSubscriptionShareTtlMs: e.WS_SUBSCRIPTION_SHARE_TTL_MS,
      ratePerMinute: e.GATEWAY_RATE_LIMIT_PER_MINUTE,
      sqlRatePerMinute: e.GATEWAY_SQL_RATE_LIMIT_PER_MINUTE,
    },
  };
}

/** "https://screens.example.com,http://10.0.0.5:8080" or "*"; each must be a bare origin. */
function parseOrigins(raw: string): string[] | string {
  const out: string[] = [];
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (entry === '*') {
      out.push(entry);
      continue;
    }
    let u: URL | undefined;
    try {
      u = new URL(entry);
    } catch {
      /* reported below */
    }
    const bare = u && /^https?:$/.test(u.protocol) && u.pathname === '/' && !u.search && !u.hash && !u.username;
    const origin = bare ? u!.origin : 'null';
    if (origin === 'null') {
      return `GATEWAY_ALLOWED_ORIGINS entries must be * or origins such as https://screens.example.com (scheme://host[:port], no path), got ${JSON.stringify(entry.slice(0, 100))}`;
    }
    out.push(origin);
  }
  return out;
}

/** fastify's trustProxy: empty/false = off, true (any hop: only behind a proxy that overwrites X-Forwarded-For), or the proxies' addresses/CIDRs. */
function parseTrustProxy(raw: string): boolean | string[] {
  const v = raw.trim();
  if (v === '' || /^(false|off|no)$/i.test(v)) return false;
  if (/^(true|on|yes)$/i.test(v)) return true;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The configuration as it may be logged: no secrets, no passwords. */
export function describeConfig(config: GatewayConfig): Record<string, unknown> {
  return {
    ...config,
    redisUrl: safeUrl(config.redisUrl),
    clickhouse: { ...config.clickhouse, password: config.clickhouse.password ? '[redacted]' : '' },
    sqlCredentials: {
      username: config.sqlCredentials.username,
      password: config.sqlCredentials.password ? '[redacted]' : '',
    },
    auth: {
      mode: config.auth.mode,
      kids: config.auth.keys.map((k) => k.kid ?? '(unnamed)'),
      clockSkewSeconds: config.auth.clockSkewSeconds,
      metricsPublic: config.auth.metricsPublic,
    },
  };
}

/** The signing keys for `npm run token`: GATEWAY_TOKEN_SECRETS, required whatever GATEWAY_AUTH says. */
export function loadTokenKeys(): TokenKey[] {
  return loadConfigOrExit(() => {
    const parsed = parseTokenSecrets(process.env.GATEWAY_TOKEN_SECRETS);
    if (!parsed.ok) throw new ConfigError(parsed.problems.map((p) => p.replace(REQUIRED_WHEN, 'to mint tokens')));
    return parsed.keys;
  });
}

/** The one place the gateway reads process.env; bad values stop start-up with exit code 2. */
export function loadGatewayConfig(): GatewayConfig {
  return loadConfigOrExit(() => parseGatewayConfig(process.env));
}
