import { bool, hostPorts, int, parseEnv, redisClusterNodesField, str, type Env, type Field } from '@livetally/config';
import { TOPICS } from '@livetally/events';
import { DIMENSION_SCOPE_KINDS } from '@livetally/history';
import { DEFAULT_VIEWER_KINDS } from '../recovery/wiring';
import { CLICKHOUSE_FIELDS, DEDUP_FIELDS, LOG_LEVEL_FIELD, WORKER_STATE_FIELDS, clickHouseSettings } from '../config';
import { defaultLedgerTopic } from '../dlq/replay-ledger';

// The commands' ClickHouse requests (rebuild's reads, dlq's lookups) get their own timeout.
const CLICKHOUSE_WITH_TIMEOUT = {
  ...CLICKHOUSE_FIELDS,
  CLICKHOUSE_REQUEST_TIMEOUT_MS: int(60_000, 1_000, 3_600_000),
};

function clickHouseWithTimeout(c: ReturnType<typeof parseEnv<typeof CLICKHOUSE_WITH_TIMEOUT>>) {
  return { ...clickHouseSettings(c), requestTimeoutMs: c.CLICKHOUSE_REQUEST_TIMEOUT_MS };
}

/**
 * Configuration of the operator commands. Same variable names (and defaults) as the
 * ingest workers, so `npm run rebuild` / `npm run reconcile` run with the workers'
 * environment act on exactly their Redis keys, topic and ClickHouse database.
 */
const COMMON = {
  ...WORKER_STATE_FIELDS,
  REDIS_CLUSTER_NODES: redisClusterNodesField,
  ...CLICKHOUSE_WITH_TIMEOUT,
  LOG_LEVEL: LOG_LEVEL_FIELD,
};

function common(c: ReturnType<typeof parseEnv<typeof COMMON>>) {
  return {
    topic: c.KAFKA_TOPIC,
    redis: { url: c.REDIS_URL, clusterNodes: c.REDIS_CLUSTER_NODES, keyPrefix: c.REDIS_KEY_PREFIX },
    clickhouse: clickHouseWithTimeout(c),
    logLevel: c.LOG_LEVEL,
  };
}

export function parseReconcileConfig(env: Env) {
  return common(parseEnv(env, COMMON));
}

/** Comma-separated dimension scope kinds, or `none`. */
const scopeKinds = (fallback: readonly string[]): Field<string[]> => ({
  parse(raw, name) {
    if (raw === undefined) return { ok: true, value: [...fallback] };
    if (raw.trim() === 'none') return { ok: true, value: [] };
    const kinds = [
      ...new Set(
        raw
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      ),
    ];
    const bad = kinds.filter((k) => !DIMENSION_SCOPE_KINDS.includes(k));
    return kinds.length > 0 && bad.length === 0
      ? { ok: true, value: kinds }
      : {
          ok: false,
          message: `${name} must be none or a comma-separated list of ${DIMENSION_SCOPE_KINDS.join(', ')}, got ${JSON.stringify(raw)}`,
        };
  },
});

/** Milliseconds, or null when unset. */
const optionalMs = (min: number, max: number): Field<number | null> => ({
  parse(raw, name) {
    if (raw === undefined) return { ok: true, value: null };
    const r = int(undefined, min, max).parse(raw, name);
    return r.ok ? { ok: true, value: r.value } : r;
  },
});

export function parseRebuildConfig(env: Env) {
  const c = parseEnv(env, {
    ...COMMON,
    // Longer than the longest ClickHouse insert a worker may have started before the
    // lock (the client's request timeout is 30 s).
    REBUILD_GRACE_MS: int(35_000, 0, 600_000),
    REBUILD_LOCK_TTL_MS: int(60_000, 3_000, 3_600_000),
    // Verify the result with a reconcile right after the write.
    REBUILD_VERIFY: bool(true),
    ...DEDUP_FIELDS,
    // Fingerprints of the rows stored this long before the newest stored row (unset: the whole dedup window).
    REBUILD_FINGERPRINT_WINDOW_MS: optionalMs(1, 30 * 86_400_000),
    // Dimension kinds whose unique-viewer HyperLogLogs are restored (campaign scopes always are).
    REBUILD_UNIQUE_VIEWER_KINDS: scopeKinds(DEFAULT_VIEWER_KINDS),
  });
  return {
    ...common(c),
    graceMs: c.REBUILD_GRACE_MS,
    lockTtlMs: c.REBUILD_LOCK_TTL_MS,
    verify: c.REBUILD_VERIFY,
    dedup: { windowSeconds: c.INGEST_DEDUP_WINDOW_SECONDS, bucketsPerHour: c.INGEST_DEDUP_BUCKETS_PER_HOUR },
    fingerprintWindowMs: c.REBUILD_FINGERPRINT_WINDOW_MS ?? c.INGEST_DEDUP_WINDOW_SECONDS * 1000,
    viewerKinds: c.REBUILD_UNIQUE_VIEWER_KINDS,
  };
}

/**
 * `livetally dlq`: the workers' brokers, topic, dead-letter topic and ClickHouse (replay
 * asks it which events are already stored), and the replay ledger (a compacted topic;
 * empty: beside the dead-letter topic, <KAFKA_DLQ_TOPIC>.replayed).
 */
export function parseDlqConfig(env: Env) {
  const c = parseEnv(env, {
    KAFKA_BROKERS: hostPorts('127.0.0.1:9092'),
    KAFKA_TOPIC: WORKER_STATE_FIELDS.KAFKA_TOPIC,
    KAFKA_DLQ_TOPIC: str(TOPICS.deadLetters),
    KAFKA_DLQ_REPLAY_LEDGER_TOPIC: str(''),
    ...CLICKHOUSE_WITH_TIMEOUT,
    LOG_LEVEL: LOG_LEVEL_FIELD,
  });
  return {
    brokers: c.KAFKA_BROKERS,
    topic: c.KAFKA_TOPIC,
    dlqTopic: c.KAFKA_DLQ_TOPIC,
    ledgerTopic: c.KAFKA_DLQ_REPLAY_LEDGER_TOPIC || defaultLedgerTopic(c.KAFKA_DLQ_TOPIC),
    clickhouse: clickHouseWithTimeout(c),
    logLevel: c.LOG_LEVEL,
  };
}

export type ReconcileConfig = ReturnType<typeof parseReconcileConfig>;
export type RebuildConfig = ReturnType<typeof parseRebuildConfig>;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `--flag` arguments; anything not in `flags` is a usage error. */
export function parseFlags<F extends string>(argv: readonly string[], flags: readonly F[]): Set<F> {
  const out = new Set<F>();
  for (const arg of argv) {
    if (!(flags as readonly string[]).includes(arg))
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}; expected ${flags.join(', ')}`);
    out.add(arg as F);
  }
  return out;
}
