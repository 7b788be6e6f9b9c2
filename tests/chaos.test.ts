import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounterStore, type Totals } from '@livetally/live-state';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { Rng } from '../services/simulator/src/rng';
import { createTopics, deleteTopics, testKafka, waitUntilStored } from './support/kafka';
import { checkLedger, clickhouseTotals } from './support/ledger';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * Chaos on the real stack: a 210k-message data set with platform resends, late and
 * malformed events, while ingest workers are SIGKILLed at random moments and their
 * number changes. At the end Redis and ClickHouse must hold the exact totals.
 */
const run = uniqueName('chaos');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const COUNT = 210_000;
const KILLS = 6;
const rng = new Rng(20240823);

describe('chaos: workers killed and rescaled while ingesting', () => {
  let kafka: Kafka;
  let redis: Redis;
  let ch: ClickHouseClient;
  let store: RedisCounterStore;
  let data: DatasetMessage[];
  let expected: Map<string, Totals>;
  const workers: ServiceProcess[] = [];
  const all: ServiceProcess[] = [];
  const env = ingestEnv(
    { topic, group: run, prefix: run, database: run },
    {
      // A killed member's partitions move after the session timeout; keep it short.
      INGEST_SESSION_TIMEOUT_MS: '6000',
      INGEST_HEARTBEAT_MS: '500',
      INGEST_MAX_BYTES_PER_PARTITION: '262144',
    },
  );
  const startWorker = () => {
    const w = startService('ingest', env);
    workers.push(w);
    all.push(w);
  };

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 12 },
      { topic: dlqTopic, numPartitions: 3 },
    ]);
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix: run });
    ch = stackClickHouse({ clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
    const now = Date.now();
    data = buildDataset({
      seed: 823,
      count: COUNT,
      malformedEvery: 199,
      duplicateEvery: 53,
      lateEvery: 41,
      lateByMs: 3 * 3_600_000,
      startTs: now - 12 * 3_600_000,
      spanMs: 12 * 3_600_000,
      hosts: 800,
    });
    expected = expectedTotals(data.flatMap((m) => (m.event ? [m.event] : [])));
  });

  afterAll(async () => {
    await Promise.all(all.map((w) => w.stop('SIGKILL')));
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${run}` }).catch(() => undefined);
    await ch?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  it('ends with exact totals in Redis and ClickHouse and a complete ledger', async () => {
    startWorker();
    startWorker();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Produce in chunks spread over the chaos, so kills land mid-stream.
    const producing = (async () => {
      for (let i = 0; i < data.length; i += 7_000) {
        await producer.send({
          topic,
          acks: -1,
          messages: data.slice(i, i + 7_000).map((m) => ({ key: m.key, value: m.value })),
        });
        await new Promise((r) => setTimeout(r, 400));
      }
    })();

    const log: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 1_500 + Math.floor(rng.next() * 2_500)));
      const victim = workers.splice(Math.floor(rng.next() * workers.length), 1)[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      const target = 1 + Math.floor(rng.next() * 3);
      while (workers.length < target) startWorker();
      log.push(`kill ${k + 1}: pid ${victim.child.pid}, now ${workers.length} workers`);
    }
    await producing;
    await producer.disconnect();
    while (workers.length < 2) startWorker();
    process.stdout.write(`[chaos] ${log.join('; ')}\n`);

    const want = expected.get('all')!;
    await waitFor(
      'Redis totals to converge',
      async () => {
        const got = (await store.readTotals(['all'])).get('all')!;
        return (
          got.views === want.views &&
          got.salesFen === want.salesFen &&
          got.orders === want.orders &&
          got.refunds === want.refunds &&
          got.sessions === want.sessions &&
          got.sessionsEnded === want.sessionsEnded
        );
      },
      240_000,
      1_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    });

    const scopes = [...expected.keys()];
    const live = await store.readTotals(scopes);
    const liveDiffs = scopes.filter(
      (s) => JSON.stringify(live.get(s)) !== JSON.stringify({ ...live.get(s), ...expected.get(s) }),
    );
    expect(liveDiffs).toEqual([]);

    await waitUntilStored(redis, run, topic);
    const history = await clickhouseTotals(ch, run, topic);
    const historyDiffs = scopes.filter(
      (s) => JSON.stringify(history.get(s)) !== JSON.stringify({ ...history.get(s), ...expected.get(s) }),
    );
    expect(historyDiffs).toEqual([]);
    expect(history.size).toBe(expected.size);

    const ledger = await checkLedger({ kafka, ch, database: run, topic, dlqTopic, data });
    process.stdout.write(`[chaos] ledger ${JSON.stringify(ledger)}\n`);
    expect(ledger.storedRows).toBe(ledger.expected.stored);
    expect(ledger.distinctStored).toBe(ledger.expected.stored);
    expect(ledger.deadLetters).toBe(ledger.expected.deadLetters);
    expect(ledger.dropped).toBe(ledger.expected.dropped);
    expect(ledger.overlap).toBe(0);
    expect(ledger.unknown).toBe(0);
    expect(ledger.offsetsOnTopic).toBe(COUNT);
  });
});
