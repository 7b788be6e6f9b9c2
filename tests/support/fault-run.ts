import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Redis, type Cluster } from 'ioredis';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { expect } from 'vitest';
import { completeSends, type CompleteSends } from '@livetally/kafka';
import { RedisCounterStore, TOTAL_FIELDS, createRedisClient, type Totals } from '@livetally/live-state';
import {
  buildDataset,
  expectedTotals,
  type DatasetMessage,
  type DatasetOptions,
} from '../../services/simulator/src/dataset';
import type { DedicatedKafkaCluster, DedicatedService } from './dedicated';
import type { DedicatedRedisCluster } from './redis-cluster';
import { createTopics, deleteTopics, testKafka, waitUntilStored } from './kafka';
import { checkLedger, clickhouseTotals } from './ledger';
import { startService, type ServiceProcess } from './processes';
import { STACK, deletePrefix, ingestEnv, stackClickHouse, uniqueName, waitFor, type ClickHouseAccount } from './stack';

/**
 * One fault scenario on the real stack: a fresh topic, database and key prefix, a data
 * set with resends and malformed events, ingest workers started as real processes,
 * and the final proof that Redis and ClickHouse hold exactly the data set's totals
 * and that every offset ended once (ledger). `stores` puts the run on dedicated Redis,
 * chDB and Kafka instances (tests/support/dedicated.ts) that the test may stop, stall
 * and restart; otherwise it uses the shared stack.
 */
export interface FaultStores {
  redis?: Pick<DedicatedService, 'url'>;
  /** A Redis Cluster instead (workers get REDIS_CLUSTER_NODES; `redis` is then a Cluster client). */
  redisCluster?: Pick<DedicatedRedisCluster, 'nodesList'>;
  chdb?: Pick<DedicatedService, 'url'> & { credentials: ClickHouseAccount };
  /** A dedicated broker, or a cluster of them (its url lists every broker). */
  kafka?: Pick<DedicatedService | DedicatedKafkaCluster, 'url'>;
}

export interface FaultRun {
  run: string;
  topic: string;
  dlqTopic: string;
  /** The workers' environment (also what `npm run reconcile` needs to act on this run). */
  env: Record<string, string>;
  kafka: Kafka;
  redis: Redis | Cluster;
  ch: ClickHouseClient;
  store: RedisCounterStore;
  data: DatasetMessage[];
  workers: ServiceProcess[];
  /** Starts a worker of this run; `extra` overrides its environment (another group, fetch sizes…). */
  startWorker(extra?: Record<string, string>): ServiceProcess;
  /** Produces data[from, to) in chunks; `partitionOf(i)` sends data[i] to that partition instead of the key's. */
  produce(from: number, to: number, partitionOf?: (index: number) => number): Promise<void>;
  /** Disconnects the producer (e.g. before a broker restart); the next produce connects a new one. */
  closeProducer(): Promise<void>;
  /** Waits until Redis holds the totals of data[0, upTo) for scope all. */
  waitForRedis(upTo: number, timeoutMs?: number): Promise<void>;
  /** Redis (every scope), ClickHouse (every scope, once durable) and the ledger all exact. */
  expectExact(options?: { timeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultRun(
  label: string,
  options: {
    count: number;
    partitions?: number;
    dlqPartitions?: number;
    seed?: number;
    workerEnv?: Record<string, string>;
    /** Overrides of the data set's shape (malformed, resends, late events, time span, hosts). */
    dataset?: Partial<Omit<DatasetOptions, 'seed' | 'count'>>;
    stores?: FaultStores;
  },
): Promise<FaultRun> {
  const run = uniqueName(label);
  const topic = `lt.${run}`;
  const dlqTopic = `${topic}.dlq`;
  const { stores = {} } = options;
  const brokers = stores.kafka ? stores.kafka.url.split(',') : STACK.kafkaBrokers;
  const kafka = stores.kafka
    ? new Kafka({ clientId: run, brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 300 } })
    : testKafka();
  await createTopics(kafka, [
    { topic, numPartitions: options.partitions ?? 6 },
    { topic: dlqTopic, numPartitions: options.dlqPartitions ?? 1 },
  ]);
  const cluster = stores.redisCluster;
  const redisUrl = cluster ? `redis://${cluster.nodesList.split(',')[0]}` : (stores.redis?.url ?? STACK.redisUrl);
  // On a cluster, the services' own factory: the options a failover needs (slot map refresh).
  const redis = cluster
    ? createRedisClient(
        { url: redisUrl, clusterNodes: cluster.nodesList.split(',') },
        { redis: { maxRetriesPerRequest: 2 }, onError: () => undefined },
      )
    : new Redis(redisUrl);
  redis.on('error', () => undefined); // a dedicated Redis the test restarts (or fails over); commands wait
  const store = new RedisCounterStore(redis, { prefix: run });
  const clickhouse: Record<string, string> = stores.chdb
    ? {
        CLICKHOUSE_URL: stores.chdb.url,
        CLICKHOUSE_USER: stores.chdb.credentials.username,
        CLICKHOUSE_PASSWORD: stores.chdb.credentials.password,
      }
    : {};
  const chSettings = { clickhouse_settings: { output_format_json_quote_64bit_integers: 1 as const } };
  const ch = stores.chdb
    ? createClient({ url: stores.chdb.url, ...stores.chdb.credentials, ...chSettings })
    : stackClickHouse(chSettings);
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
  const now = Date.now();
  const data = buildDataset({
    malformedEvery: 97,
    duplicateEvery: 41,
    startTs: now - 6 * 3_600_000,
    spanMs: 6 * 3_600_000,
    hosts: 300,
    ...options.dataset,
    seed: options.seed ?? 77,
    count: options.count,
  });
  const events = (to: number) => data.slice(0, to).flatMap((m) => (m.event && m.kind === 'valid' ? [m.event] : []));
  const workers: ServiceProcess[] = [];
  const env = ingestEnv(
    { topic, group: run, prefix: run, database: run },
    {
      INGEST_SESSION_TIMEOUT_MS: '6000',
      INGEST_HEARTBEAT_MS: '500',
      INGEST_RETRY_MAX_MS: '1000',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: brokers.join(','),
      REDIS_URL: redisUrl,
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.nodesList } : {}),
      ...clickhouse,
      ...options.workerEnv,
    },
  );
  let producer: { producer: Producer; sends: CompleteSends } | undefined;
  const output = () =>
    workers.map((w, i) => `--- worker ${i} (pid ${w.child.pid}) ---\n${w.output().slice(-4000)}`).join('\n');
  /** Where each partition stands, for a run that falls short: the topic's end, Redis' offsets, the group's commit. */
  const partitionTable = async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      const [group] = await admin.fetchOffsets({ groupId: run, topics: [topic] });
      const hashes = await store.offsetFields(topic);
      const rows = ends
        .sort((a, b) => a.partition - b.partition)
        .map(({ partition: p, high }) => {
          const committed = group?.partitions.find((c) => c.partition === p)?.offset ?? '?';
          const hash = hashes.get(p) ?? {};
          return `  ${p}: end ${high}, applied ${hash[p] ?? '-'}, durable ${hash[`durable:${p}`] ?? '-'}, gen ${hash[`gen:${p}`] ?? '-'}, committed ${committed}`;
        });
      return `partitions (offsets):\n${rows.join('\n')}`;
    } catch (err) {
      return `partitions: unknown (${(err as Error).message})`;
    } finally {
      await admin.disconnect();
    }
  };

  return {
    run,
    topic,
    dlqTopic,
    env,
    kafka,
    redis,
    ch,
    store,
    data,
    workers,
    startWorker(extra = {}) {
      const w = startService('ingest', { ...env, ...extra });
      workers.push(w);
      return w;
    },
    async produce(from, to, partitionOf) {
      // completeSends: kafkajs can report a send done without the records of a partition whose
      // leader died under it (tests/kafka-broker-death.test.ts); those are sent again.
      if (!producer) {
        const sends = completeSends(Partitioners.DefaultPartitioner, {
          onResend: (info) => process.stdout.write(`[${run}] completeSends: sending again ${JSON.stringify(info)}\n`),
        });
        producer = {
          producer: kafka.producer({
            idempotent: true,
            maxInFlightRequests: 1,
            createPartitioner: sends.createPartitioner,
          }),
          sends,
        };
        await producer.producer.connect();
      }
      for (let i = from; i < to; i += 2_000) {
        const messages = data
          .slice(i, Math.min(to, i + 2_000))
          .map((m, j) => ({ key: m.key, value: m.value, ...(partitionOf ? { partition: partitionOf(i + j) } : {}) }));
        await producer.sends.send(producer.producer, { topic, acks: -1, messages });
      }
    },
    async closeProducer() {
      await producer?.producer.disconnect().catch(() => undefined);
      producer = undefined;
    },
    async waitForRedis(upTo, timeoutMs = 60_000) {
      const want = expectedTotals(events(upTo)).get('all')!;
      await waitFor(
        `Redis totals of the first ${upTo} messages`,
        async () => sameTotals((await store.readTotals(['all'])).get('all')!, want),
        timeoutMs,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${output()}`);
      });
    },
    async expectExact({ timeoutMs = 90_000 } = {}) {
      const expected = expectedTotals(events(data.length));
      const want = expected.get('all')!;
      await waitFor(
        'Redis totals of the whole data set',
        async () => sameTotals((await store.readTotals(['all'])).get('all')!, want),
        timeoutMs,
        250,
      ).catch(async (err: Error) => {
        const all = JSON.stringify((await store.readTotals(['all'])).get('all'));
        throw new Error(
          `${err.message}\nRedis all ${all}, want ${JSON.stringify(want)}\n${await partitionTable()}\n${output()}`,
        );
      });
      const scopes = [...expected.keys()];
      const live = await store.readTotals(scopes);
      expect(scopes.filter((s) => !sameTotals(live.get(s)!, expected.get(s)!))).toEqual([]);
      await waitUntilStored(redis, run, topic).catch((err: Error) => {
        throw new Error(`${err.message}\n${output()}`);
      });
      const history = await clickhouseTotals(ch, run, topic);
      const ledger = await checkLedger({ kafka, ch, database: run, topic, dlqTopic, data });
      const found = `ClickHouse all ${JSON.stringify(history.get('all'))}, want ${JSON.stringify(want)}; ledger ${JSON.stringify(ledger)}`;
      expect(
        scopes.filter((s) => !history.get(s) || !sameTotals(history.get(s)!, expected.get(s)!)),
        found,
      ).toEqual([]);
      expect(history.size).toBe(expected.size);
      expect(ledger).toMatchObject({
        storedRows: ledger.expected.stored,
        distinctStored: ledger.expected.stored,
        deadLetters: ledger.expected.deadLetters,
        dropped: ledger.expected.dropped,
        overlap: 0,
        unknown: 0,
      });
    },
    async close() {
      await producer?.producer.disconnect().catch(() => undefined);
      // All at once: each stop may wait up to its SIGKILL deadline, which one after the other adds up.
      await Promise.all(
        workers.map((w) => {
          if (w.child.signalCode === null && w.child.exitCode === null) w.child.kill('SIGCONT');
          return w.stop();
        }),
      );
      await deletePrefix(redis, run);
      await redis.quit();
      await ch.command({ query: `DROP DATABASE IF EXISTS ${run}` }).catch(() => undefined);
      await ch.close();
      await deleteTopics(kafka, [topic, dlqTopic]);
    },
  };
}

export function sameTotals(got: Totals | undefined, want: Totals): boolean {
  return got !== undefined && TOTAL_FIELDS.every((f) => (got[f] ?? 0) === (want[f] ?? 0));
}

/** Owner generation per partition (the `gen:<p>` field of each partition's offsets hash). */
export async function ownerGenerations(run: FaultRun): Promise<Map<number, number>> {
  const hashes = await run.store.offsetFields(run.topic);
  const out = new Map<number, number>();
  for (const [p, hash] of hashes) if (hash[`gen:${p}`] !== undefined) out.set(p, Number(hash[`gen:${p}`]));
  return out;
}
