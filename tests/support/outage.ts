import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { RedisCounterStore, scopeOfTotalsKey, type Totals } from '@livetally/live-state';
import { buildDataset, expectedTotals, type DatasetMessage } from '../../services/simulator/src/dataset';
import type { DedicatedService } from './dedicated';
import { createTopics, deleteTopics, waitUntilStored } from './kafka';
import { startService, type ServiceProcess } from './processes';
import { freePort, uniqueName } from './stack';

/**
 * One ingest worker process on dedicated Redis and chDB instances (and the given
 * brokers), a fresh topic, and a seeded data set produced in CHUNKS chunks around an
 * outage; then checks that every scope's totals and the ClickHouse rows are exact.
 */
export const CHUNKS = 4;
const COUNT = 8_000;

export interface OutageRun {
  name: string;
  topic: string;
  data: DatasetMessage[];
  expected: Map<string, Totals>;
  worker: ServiceProcess;
  /** HTTP status of the worker's GET /readyz (0 when it does not answer). */
  readyz(): Promise<number>;
  /** Polls `probe` until it is true; fails at once if the worker exits, with its output either way. */
  until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void>;
  /** Waits until GET /readyz answers `status`. */
  waitReadyz(status: 200 | 503, timeoutMs: number): Promise<void>;
  /** A metric of the worker without labels, e.g. livetally_ingest_ready (undefined when absent). */
  metric(name: string): Promise<number | undefined>;
  /** Produces chunk i of the data set (acks from all replicas); retries while the broker restarts. */
  produce(chunk: number): Promise<void>;
  /** Events counted so far in scope "all" (views + sales + …), -1 while Redis is down. */
  progress(): Promise<number>;
  /** Waits until Redis holds the exact totals for every scope; throws with the worker log otherwise. */
  waitExact(timeoutMs: number): Promise<void>;
  /** Per-scope mismatches between Redis and the expected totals (empty when exact). */
  redisDiffs(): Promise<string[]>;
  clickhouse(): Promise<{ rows: number; distinctOffsets: number; valid: number }>;
  /** Milliseconds since `from`, for the timing report. */
  since(from: number): number;
  /** Stops the worker; deletes the topics unless the broker is the test's own. */
  close(options?: { deleteTopics?: boolean }): Promise<void>;
}

export async function startOutageRun(options: {
  label: string;
  brokers: string[];
  redis: DedicatedService;
  chdb: DedicatedService;
  seed: number;
  /** Extra environment for the worker. */
  workerEnv?: Record<string, string>;
}): Promise<OutageRun> {
  const name = uniqueName(options.label);
  const topic = `lt.${name}`;
  const dlqTopic = `${topic}.dlq`;
  const kafka = new Kafka({
    clientId: name,
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 300 },
  });
  await createTopics(kafka, [
    { topic, numPartitions: 6 },
    { topic: dlqTopic, numPartitions: 2 },
  ]);

  const now = Date.now();
  const data = buildDataset({
    seed: options.seed,
    count: COUNT,
    malformedEvery: 97,
    duplicateEvery: 53,
    startTs: now - 2 * 3_600_000,
    spanMs: 2 * 3_600_000,
    hosts: 120,
  });
  const expected = expectedTotals(data.flatMap((m) => (m.event ? [m.event] : [])));
  const valid = data.filter((m) => m.kind === 'valid').length;

  const httpPort = await freePort();
  const worker = startService('ingest', {
    KAFKA_BROKERS: options.brokers.join(','),
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlqTopic,
    KAFKA_GROUP_ID: name,
    REDIS_URL: options.redis.url,
    REDIS_KEY_PREFIX: name,
    CLICKHOUSE_URL: options.chdb.url,
    // The test's own chDB server, not the stack's (whose account is in the environment).
    CLICKHOUSE_USER: options.chdb.credentials?.username ?? 'default',
    CLICKHOUSE_PASSWORD: options.chdb.credentials?.password ?? '',
    CLICKHOUSE_DATABASE: 'default',
    INGEST_HTTP_PORT: String(httpPort),
    ...options.workerEnv,
  });
  const ops = `http://127.0.0.1:${httpPort}`;

  // Short-lived clients: the test's own connections must not mask or outlive an outage.
  const withStore = async <T>(fn: (store: RedisCounterStore, redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(options.redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    try {
      await redis.connect();
      return await fn(new RedisCounterStore(redis, { prefix: name }), redis);
    } finally {
      redis.disconnect();
    }
  };

  const redisDiffs = () =>
    withStore(async (store, redis) => {
      const scopes = [...expected.keys()];
      const live = await store.readTotals(scopes);
      const diffs = scopes
        .filter((s) => JSON.stringify(live.get(s)) !== JSON.stringify(expected.get(s)))
        .map((s) => `${s}: got ${JSON.stringify(live.get(s))} want ${JSON.stringify(expected.get(s))}`);
      // Per partition (ADR 0003): a scope has one totals share per partition that counted it.
      const withTotals = new Set<string>();
      for await (const batch of redis.scanStream({ match: `${name}:t:*`, count: 1000 }))
        for (const key of batch as string[]) withTotals.add(scopeOfTotalsKey(name, key)?.scope ?? key);
      if (withTotals.size !== expected.size) diffs.push(`${withTotals.size} scopes with totals, want ${expected.size}`);
      return diffs;
    });

  const workerFailure = (message: string) =>
    new Error(`${message}\n--- worker output ---\n${worker.output().slice(-4000)}`);
  const until = async (
    what: string,
    probe: () => Promise<boolean>,
    timeoutMs: number,
    intervalMs = 100,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const exit = worker.child.exitCode ?? worker.child.signalCode;
      if (exit !== null) throw workerFailure(`the worker exited (${exit}) while waiting for ${what}`);
      try {
        if (await probe()) return;
      } catch (err) {
        last = `: ${(err as Error).message}`;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw workerFailure(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
  };
  const readyz = async () =>
    (await fetch(`${ops}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))?.status ?? 0;

  return {
    name,
    topic,
    data,
    expected,
    worker,
    readyz,
    until,
    waitReadyz: (status, timeoutMs) => until(`/readyz ${status}`, async () => (await readyz()) === status, timeoutMs),
    async metric(metricName) {
      const res = await fetch(`${ops}/metrics`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      const m = new RegExp(`^${metricName} (\\S+)$`, 'm').exec((await res?.text()) ?? '');
      return m ? Number(m[1]) : undefined;
    },
    async produce(chunk) {
      const size = Math.ceil(data.length / CHUNKS);
      const messages = data.slice(chunk * size, (chunk + 1) * size).map((m) => ({ key: m.key, value: m.value }));
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await producer.send({ topic, acks: -1, messages });
      } finally {
        await producer.disconnect();
      }
    },
    progress: () =>
      withStore(async (store) => {
        const t = (await store.readTotals(['all'])).get('all')!;
        return t.views + t.sessions + t.sessionsEnded + t.orders + t.refunds;
      }).catch(() => -1),
    async waitExact(timeoutMs) {
      const want = JSON.stringify(expected.get('all'));
      const allExact = async () =>
        JSON.stringify(await withStore(async (store) => (await store.readTotals(['all'])).get('all'))) === want;
      await until(
        'exact totals in Redis',
        async () => (await allExact()) && (await redisDiffs()).length === 0,
        timeoutMs,
        250,
      ).catch(async (err: Error) => {
        const diffs = await redisDiffs().catch((e: Error) => [e.message]);
        throw new Error(`${diffs.slice(0, 5).join('\n')}\n${err.message}`);
      });
    },
    redisDiffs,
    async clickhouse() {
      await withStore((_store, redis) => waitUntilStored(redis, name, topic));
      const ch = createClient({
        url: options.chdb.url,
        ...options.chdb.credentials,
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      });
      try {
        const rs = await ch.query({
          query:
            'SELECT count() AS rows, uniqExact(kafka_partition, kafka_offset) AS distinctOffsets FROM lt_events WHERE topic = {topic:String}',
          query_params: { topic },
          format: 'JSONEachRow',
        });
        const [row] = await rs.json<{ rows: string; distinctOffsets: string }>();
        return { rows: Number(row?.rows), distinctOffsets: Number(row?.distinctOffsets), valid };
      } finally {
        await ch.close();
      }
    },
    since: (from) => Date.now() - from,
    async close({ deleteTopics: remove = true } = {}) {
      await worker.stop();
      // LT_OUTAGE_DUMP=1 prints the worker's output (warnings and errors) for diagnosis.
      if (process.env.LT_OUTAGE_DUMP) process.stdout.write(`--- ${name} worker output ---\n${worker.output()}\n`);
      if (remove) await deleteTopics(kafka, [topic, dlqTopic]);
    },
  };
}
