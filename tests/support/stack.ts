import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';

/** A ClickHouse account as @clickhouse/client takes it. */
export interface ClickHouseAccount {
  username: string;
  password: string;
}

const writer: ClickHouseAccount = {
  username: process.env.CLICKHOUSE_USER ?? 'default',
  password: process.env.CLICKHOUSE_PASSWORD ?? '',
};

/**
 * Where the local stack runs. Tests read the same variables the services do
 * (set by infra/stack.sh or by the caller) and never start services themselves.
 */
export const STACK = {
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  clickhouseUrl: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
  /** The account services write with (CLICKHOUSE_USER / CLICKHOUSE_PASSWORD of stack.env). */
  clickhouseWriter: writer,
  /** The read-only account (CLICKHOUSE_SQL_USER / _PASSWORD); the gateway uses the writer when it is unset, and so do the tests. */
  clickhouseReader: process.env.CLICKHOUSE_SQL_USER
    ? { username: process.env.CLICKHOUSE_SQL_USER, password: process.env.CLICKHOUSE_SQL_PASSWORD ?? '' }
    : writer,
};

/** A client of the stack's ClickHouse, signed in as the writer unless `config` names another account. */
export function stackClickHouse(config: Omit<ClickHouseClientConfigOptions, 'url'> = {}): ClickHouseClient {
  return createClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter, ...config });
}

/** The ClickHouse variables of a service started against the stack (URL and both accounts). */
export function clickhouseEnv(): Record<string, string> {
  return {
    CLICKHOUSE_URL: STACK.clickhouseUrl,
    CLICKHOUSE_USER: STACK.clickhouseWriter.username,
    CLICKHOUSE_PASSWORD: STACK.clickhouseWriter.password,
    CLICKHOUSE_SQL_USER: STACK.clickhouseReader.username,
    CLICKHOUSE_SQL_PASSWORD: STACK.clickhouseReader.password,
  };
}

/** A name unique to this test run, safe for topics, key prefixes and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Settles within ms or reports what it was waiting for. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port that was free a moment ago, for a service started as a child process. */
/** Ports this process handed out: the OS may give a port closed again to the next caller too. */
const handedOut = new Set<number>();

/**
 * A free loopback port for a service a test starts, below the kernel's ephemeral range: a
 * port from that range (what listen(0) gives) can be taken, between this check and the
 * service's own bind, as the local port of any outgoing connection, and a Redis Cluster node
 * failed to start so ("Address already in use").
 */
export async function freePort(): Promise<number> {
  return freePortBlock([0]);
}

const FIRST_TEST_PORT = 10_000;

/**
 * A base port `b` with every `b + offset` free, below the ephemeral range as freePort's (for a
 * service that takes a block of ports, as infra/stack.sh's three brokers or six Redis nodes do).
 */
export async function freePortBlock(offsets: readonly number[]): Promise<number> {
  const below = ephemeralRangeStart() - Math.max(...offsets);
  for (let attempt = 0; attempt < 500; attempt++) {
    const base = FIRST_TEST_PORT + Math.floor(Math.random() * (below - FIRST_TEST_PORT));
    const ports = offsets.map((o) => base + o);
    if (ports.some((port) => handedOut.has(port))) continue;
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) {
      for (const port of ports) handedOut.add(port);
      return base;
    }
  }
  throw new Error(`no block of free ports at offsets ${offsets.join(',')} after 500 tries`);
}

function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > FIRST_TEST_PORT + 1_000) return low;
  } catch {
    // Not Linux: the usual start of the range.
  }
  return 32_768;
}

async function canListen(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The environment of an ingest worker for one test run: its topic, group, key prefix and database. */
export function ingestEnv(
  run: { topic: string; group: string; prefix: string; database: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
    KAFKA_TOPIC: run.topic,
    KAFKA_DLQ_TOPIC: `${run.topic}.dlq`,
    KAFKA_GROUP_ID: run.group,
    REDIS_URL: STACK.redisUrl,
    REDIS_KEY_PREFIX: run.prefix,
    ...clickhouseEnv(),
    CLICKHOUSE_DATABASE: run.database,
    INGEST_HTTP_PORT: '0',
    ...extra,
  };
}

/**
 * Deletes every key under `<prefix>:` (SCAN + UNLINK, so Redis is never blocked); on a
 * Redis Cluster on every master, one key per UNLINK (keys of one SCAN page span slots).
 */
export async function deletePrefix(redis: Redis | Cluster, prefix: string, perKey = false): Promise<number> {
  if ((redis as Cluster).isCluster) {
    let deleted = 0;
    for (const master of (redis as Cluster).nodes('master')) deleted += await deletePrefix(master, prefix, true);
    return deleted;
  }
  const node = redis as Redis;
  let cursor = '0';
  let deleted = 0;
  const pattern = `${prefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}:*`;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (perKey) for (const key of keys) deleted += await node.unlink(key);
    else if (keys.length > 0) deleted += await node.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
