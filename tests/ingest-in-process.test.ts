import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounterStore } from '@livetally/live-state';
import { createLogger } from '@livetally/logging';
import { parseIngestConfig, startIngest, type RunningIngest } from '@livetally/ingest';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { createTopics, deleteTopics, testKafka } from './support/kafka';
import { deletePrefix, ingestEnv, STACK, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * Issue 13: a whole ingest worker started inside the test process with startIngest, on
 * the shared stack (its own topic, group, Redis prefix and ClickHouse database). Its
 * first wave is counted in Redis and stored in ClickHouse as it runs; the second stays
 * in the history flusher (fewer rows than INGEST_FLUSH_ROWS, INGEST_FLUSH_MS far off)
 * until stop(), which must write it, mark it durable and commit the group's offsets
 * to the end of the topic before it leaves the group; a second stop() changes nothing.
 */
const run = uniqueName('inproc');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const database = run;
const prefix = run;
const PARTITIONS = 3;
const FIRST_WAVE = 1_500;
const SECOND_WAVE = 300;

describe('an ingest worker started in-process with startIngest', () => {
  let kafka: Kafka;
  let redis: Redis;
  let ch: ClickHouseClient;
  let ingest: RunningIngest | undefined;
  const logLines: string[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: PARTITIONS },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    redis = new Redis(STACK.redisUrl);
    ch = stackClickHouse();
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  });

  afterAll(async () => {
    await ingest?.stop().catch(() => undefined);
    await deleteTopics(kafka, [topic, dlqTopic]);
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await ch?.close();
    if (redis) await deletePrefix(redis, prefix);
    await redis?.quit();
  });

  it(
    'counts in Redis, stores in ClickHouse, and stop() flushes, commits and closes once',
    { timeout: 120_000 },
    async () => {
      const now = Date.now();
      const data = buildDataset({
        seed: 1313,
        count: FIRST_WAVE + SECOND_WAVE,
        startTs: now - 3_600_000,
        spanMs: 3_000_000,
      });
      const config = parseIngestConfig(
        ingestEnv(
          { topic, group: run, prefix, database },
          // The first wave fills a flush by itself; the second waits in the flusher for stop().
          { INGEST_FLUSH_ROWS: String(FIRST_WAVE), INGEST_FLUSH_MS: '60000', INGEST_SHUTDOWN_TIMEOUT_MS: '20000' },
        ),
      );
      const logger = createLogger({
        service: 'ingest',
        level: 'info',
        destination: { write: (line: string) => void logLines.push(line) },
      });
      const diagnostics = () => logLines.slice(-30).join('');
      ingest = await startIngest(config, { logger });
      await ingest.started;
      await waitFor('the worker to be ready', async () => (await fetch(`${ingest!.opsUrl}/readyz`)).ok, 30_000);
      expect(ingest.isReady()).toBe(true);

      await produce(kafka, data.slice(0, FIRST_WAVE));
      await waitForTotals(data.slice(0, FIRST_WAVE), diagnostics);
      await waitFor('ClickHouse to hold the first wave', async () => (await storedRows()) === FIRST_WAVE, 30_000);

      await produce(kafka, data.slice(FIRST_WAVE));
      await waitForTotals(data, diagnostics);
      expect(await storedRows()).toBe(FIRST_WAVE); // the second wave is still in the flusher

      const opsUrl = ingest.opsUrl;
      const stopping = ingest.stop();
      expect(ingest.isReady()).toBe(false);
      await stopping;

      expect(await storedRows()).toBe(FIRST_WAVE + SECOND_WAVE);
      const ends = await topicEnds();
      expect(await committedOffsets()).toEqual(ends);
      const offsets = Object.assign(
        {},
        ...(await new RedisCounterStore(redis, { prefix }).offsetFields(topic)).values(),
      ) as Record<string, string>;
      for (const [partition, end] of ends)
        if (end !== '0')
          expect(offsets[`durable:${partition}`], `durable offset of partition ${partition}`).toBe(
            String(BigInt(end) - 1n),
          );
      await expect(fetch(`${opsUrl}/healthz`)).rejects.toThrow();

      const stoppedLines = () => logLines.filter((l) => l.includes('"msg":"ingest stopped"')).length;
      expect(stoppedLines()).toBe(1);
      await ingest.stop();
      expect(stoppedLines()).toBe(1);
      expect(await committedOffsets()).toEqual(ends);
      expect(await storedRows()).toBe(FIRST_WAVE + SECOND_WAVE);
    },
  );

  async function produce(k: Kafka, messages: DatasetMessage[]): Promise<void> {
    const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
    } finally {
      await producer.disconnect();
    }
  }

  async function waitForTotals(messages: DatasetMessage[], diagnostics: () => string): Promise<void> {
    const want = expectedTotals(messages.flatMap((m) => (m.event ? [m.event] : []))).get('all')!;
    const store = new RedisCounterStore(redis, { prefix });
    await waitFor(
      `Redis to count ${messages.length} events`,
      async () => {
        const got = (await store.readTotals(['all'])).get('all');
        return got && got.views === want.views && got.salesFen === want.salesFen && got.orders === want.orders;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${diagnostics()}`);
    });
  }

  async function storedRows(): Promise<number> {
    const rs = await ch.query({ query: `SELECT count() AS n FROM ${database}.lt_events`, format: 'JSONEachRow' });
    return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
  }

  /** Partition → the offset after its last message. */
  async function topicEnds(): Promise<Map<number, string>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    } finally {
      await admin.disconnect();
    }
  }

  /** Partition → the group's committed offset (the next one to read). */
  async function committedOffsets(): Promise<Map<number, string>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: run, topics: [topic] });
      return new Map(offsets!.partitions.map((p) => [p.partition, p.offset === '-1' ? '0' : p.offset]));
    } finally {
      await admin.disconnect();
    }
  }
});
