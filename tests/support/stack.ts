import { randomBytes } from 'node:crypto';

/**
 * Where the local stack runs. Tests read the same variables the services do
 * (set by infra/stack.sh or by the caller) and never start services themselves.
 */
export const STACK = {
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  clickhouseUrl: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
};

/** A name unique to this test run, safe for topics, key prefixes and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
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

/** A TCP port that was free a moment ago, for a service started as a child process. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The environment of an ingest worker for one test run: its topic, group, key prefix and database. */
export function ingestEnv(run: { topic: string; group: string; prefix: string; database: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
    KAFKA_TOPIC: run.topic,
    KAFKA_DLQ_TOPIC: `${run.topic}.dlq`,
    KAFKA_GROUP_ID: run.group,
    REDIS_URL: STACK.redisUrl,
    REDIS_KEY_PREFIX: run.prefix,
    CLICKHOUSE_URL: STACK.clickhouseUrl,
    CLICKHOUSE_DATABASE: run.database,
    INGEST_HTTP_PORT: '0',
    ...extra,
  };
}
