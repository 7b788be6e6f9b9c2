import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounterStore, type Totals } from '@livetally/live-state';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { createTopics, deleteTopics, readTopic, testKafka } from './support/kafka';
import { checkLedger } from './support/ledger';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, freePort, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * The whole path on the real local stack: seeded events (some malformed) produced
 * with kafkajs → two real ingest worker processes → Redis totals, ClickHouse rows,
 * dead-letter topic, and a live WebSocket subscriber on the real gateway.
 */
const run = uniqueName('e2e');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const database = run;
const prefix = run;
const COUNT = 20_000;
const MALFORMED_EVERY = 97;

describe('pipeline end to end', () => {
  let kafka: Kafka;
  let redis: Redis;
  let ch: ClickHouseClient;
  let store: RedisCounterStore;
  let data: DatasetMessage[];
  let expected: Map<string, Totals>;
  const workers: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let gatewayUrl: string;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 6 },
      { topic: dlqTopic, numPartitions: 2 },
    ]);
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix });
    ch = stackClickHouse({ clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    const now = Date.now();
    data = buildDataset({
      seed: 2024,
      count: COUNT,
      malformedEvery: MALFORMED_EVERY,
      startTs: now - 6 * 3_600_000,
      spanMs: 6 * 3_600_000,
      hosts: 300,
    });
    expected = expectedTotals(data.flatMap((m) => (m.event ? [m.event] : [])));
    const env = ingestEnv({ topic, group: run, prefix, database });
    workers.push(startService('ingest', env), startService('ingest', env));
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    gateway = startService('gateway', {
      GATEWAY_AUTH: 'off',
      REDIS_URL: STACK.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      GATEWAY_PORT: String(port),
    });
    await waitFor('gateway ready', async () => (await fetch(`${gatewayUrl}/readyz`)).ok, 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${gateway.output()}`);
    });
  });

  afterAll(async () => {
    await Promise.all([...workers, gateway].filter(Boolean).map((w) => w.stop()));
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await ch?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  it('counts every valid event exactly once in Redis and ClickHouse and dead-letters the rest', async () => {
    const frames: { type: string; channel: string; data: Totals }[] = [];
    const ws = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/live`);
    ws.on('message', (raw) => frames.push(JSON.parse(String(raw))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'subscribe', channel: 'totals:all' }));
    await waitFor('snapshot', async () => frames.find((f) => f.type === 'snapshot'), 10_000);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < data.length; i += 2_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: data.slice(i, i + 2_000).map((m) => ({ key: m.key, value: m.value })),
      });
    }
    await producer.disconnect();

    const want = expected.get('all')!;
    await waitFor(
      'Redis totals for scope all',
      async () => {
        const got = (await store.readTotals(['all'])).get('all');
        return (
          got &&
          got.views === want.views &&
          got.salesFen === want.salesFen &&
          got.orders === want.orders &&
          got.sessions === want.sessions
        );
      },
      90_000,
      500,
    ).catch((err) => {
      throw new Error(
        `${(err as Error).message}\n--- worker output ---\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`,
      );
    });

    // The live subscriber ends on the final totals, and REST agrees.
    await waitFor(
      'final totals over /v1/live',
      async () => {
        const last = frames.filter((f) => f.channel === 'totals:all').at(-1);
        return last && sameTotals(last.data, want);
      },
      15_000,
    );
    expect(frames.filter((f) => f.type === 'update').length).toBeGreaterThan(0);
    ws.close();
    const rest = (await (await fetch(`${gatewayUrl}/v1/totals/all`)).json()) as { totals: Totals };
    expect(rest.totals).toEqual(want);

    // Every scope the data set touches, exactly.
    const scopes = [...expected.keys()];
    const live = await store.readTotals(scopes);
    for (const scope of scopes) expect(live.get(scope), scope).toEqual(expected.get(scope));

    // ClickHouse (written right after Redis, in the workers' next flush): one row per valid event, same sums per dimension.
    const validCount = data.filter((m) => m.kind === 'valid').length;
    const chTotals = () =>
      query<{ n: string; sales: string; refunds: string }>(
        `SELECT count() AS n, sumIf(amount_fen, type = 'sale') AS sales, sumIf(amount_fen, type = 'refund') AS refunds FROM ${database}.lt_events`,
      );
    await waitFor(
      'ClickHouse holds every valid event',
      async () => (await chTotals())[0]?.n === String(validCount),
      15_000,
    ).catch(async (err) => {
      const [seen] = await query<{ n: string; distinct: string }>(
        `SELECT count() AS n, uniqExact(kafka_partition, kafka_offset) AS distinct FROM ${database}.lt_events`,
      );
      throw new Error(
        `${(err as Error).message} (rows ${seen?.n}, distinct offsets ${seen?.distinct}, expected ${validCount})\n--- worker output ---\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`,
      );
    });
    expect((await chTotals())[0]).toEqual({
      n: String(validCount),
      sales: String(want.salesFen),
      refunds: String(want.refundsFen),
    });
    const byDistrict = await query<{ district: string; views: string; sales: string }>(
      `SELECT district, countIf(type = 'view') AS views, sumIf(amount_fen, type = 'sale') AS sales FROM ${database}.lt_events GROUP BY district ORDER BY district`,
    );
    for (const r of byDistrict) {
      const e = expected.get(`district:${r.district}`)!;
      expect({ district: r.district, views: Number(r.views), sales: Number(r.sales) }).toEqual({
        district: r.district,
        views: e.views,
        sales: e.salesFen,
      });
    }

    // Dead letters: each malformed message, once, with its reason and origin.
    const malformed = data.filter((m) => m.kind === 'malformed');
    const letters = await readTopic(kafka, dlqTopic, malformed.length, 30_000);
    expect(new Set(letters.map((l) => `${l.headers['lt-partition']}@${l.headers['lt-offset']}`)).size).toBe(
      malformed.length,
    );
    const byValue = new Map(malformed.map((m) => [m.value.toString('base64'), m.expectedReason]));
    for (const l of letters) {
      expect(l.headers['lt-topic']).toBe(topic);
      const errors = JSON.parse(l.headers['lt-errors']!) as { reason: string }[];
      expect(errors.map((e) => e.reason)).toContain(byValue.get(l.value!.toString('base64')));
    }

    // Ledger: every offset on the topic is either a ClickHouse row or a dead letter, never both, never twice.
    const ledger = await checkLedger({ kafka, ch, database, topic, dlqTopic, data });
    expect(ledger).toMatchObject({
      storedRows: validCount,
      distinctStored: validCount,
      deadLetters: malformed.length,
      dropped: 0,
      overlap: 0,
      unknown: 0,
      offsetsOnTopic: COUNT,
    });
  });

  function sameTotals(a: Totals, b: Totals): boolean {
    return (Object.keys(b) as (keyof Totals)[]).every((k) => a[k] === b[k]);
  }

  async function query<T>(sql: string): Promise<T[]> {
    const rs = await ch.query({ query: sql, format: 'JSONEachRow' });
    return rs.json<T>();
  }
});
