import { createHash, randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, decodeEvent } from '@livetally/events';
import { RedisCounterStore } from '@livetally/live-state';
import { buildDataset, expectedTotals } from '../services/simulator/src/dataset';
import { createTopics, deleteTopics, readTopic, testKafka } from './support/kafka';
import { clickhouseTotals } from './support/ledger';
import { startService, type ServiceProcess } from './support/processes';
import { deletePrefix, freePort, ingestEnv, STACK, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * Issue 10 (f): a burst of invalid ~1 KB events for one stream, all in one fetch, whose
 * dead letters together exceed what the dead-letter topic accepts in one request (its
 * max.message.bytes is 64 KiB here, below the worker's default INGEST_DLQ_MAX_REQUEST_BYTES
 * of 512 KiB, so the worker must also learn the limit from the broker's refusals). The
 * real worker must dead-letter every invalid offset exactly once, keep counting the valid
 * events on that partition and on the others, and stay ready. Also: oversized originals
 * arrive truncated with their hash and size, and a letter the topic refuses even alone
 * (a 100 KB key) arrives parked.
 */
const run = uniqueName('dlqburst');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const database = run;
const prefix = run;
const PARTITIONS = 4;
const BURST = 3_000;
const DLQ_MAX_MESSAGE_BYTES = 64 * 1024;

interface Produced {
  partition: number;
  offset: string;
  key: Buffer;
  value: Buffer;
}

describe('a dead-letter burst larger than the dead-letter topic takes in one request', () => {
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  let store: RedisCounterStore;
  let ch: ClickHouseClient;
  let worker: ServiceProcess | undefined;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: PARTITIONS },
      {
        topic: dlqTopic,
        numPartitions: 2,
        configEntries: [{ name: 'max.message.bytes', value: String(DLQ_MAX_MESSAGE_BYTES) }],
      },
    ]);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix });
    ch = stackClickHouse({ clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  });

  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await deleteTopics(kafka, [topic, dlqTopic]);
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await ch?.close();
    await deletePrefix(redis, prefix);
    await redis?.quit();
  });

  it(
    'dead-letters every invalid offset once, counts every valid event exactly and the worker stays ready',
    { timeout: 240_000 },
    async () => {
      const now = Date.now();
      const dataset = buildDataset({
        seed: 1010,
        count: 4_000,
        startTs: now - 3_600_000,
        spanMs: 3_000_000,
        hosts: 80,
      });
      const valid = dataset.map((m, i) => ({
        partition: i % PARTITIONS,
        key: Buffer.from(m.key),
        value: m.value,
        event: m.event!,
      }));
      const half = valid.length / 2;

      // Wave 1, produced before the worker starts so that one fetch holds the whole burst:
      // partition 0 gets the burst, three oversized originals and one invalid event with a
      // 100 KB key, then valid events; the other partitions valid events only.
      const burst = Array.from({ length: BURST }, (_, i) => ({
        key: Buffer.from('stream-burst'),
        value: burstEvent(i, now),
      }));
      const oversized = Array.from({ length: 3 }, () => ({
        key: Buffer.from('stream-oversized'),
        value: randomBytes(200_000),
      }));
      const hugeKey = [{ key: Buffer.alloc(100_000, 'k'), value: Buffer.from('not json at all') }];
      const invalid = [...(await produce(0, burst)), ...(await produce(0, oversized)), ...(await produce(0, hugeKey))];
      const firstWave = await produceValid(valid.slice(0, half));

      const httpPort = await freePort();
      worker = startService(
        'ingest',
        ingestEnv({ topic, group: run, prefix, database }, { INGEST_HTTP_PORT: String(httpPort) }),
      );
      const readyz = async () =>
        (await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))
          ?.status ?? 0;
      // The last lines of the worker's log, each cut short (a dead-letter warning lists every offset).
      const withOutput = (err: Error) =>
        new Error(
          `${err.message}\n--- worker output ---\n${worker!
            .output()
            .split('\n')
            .slice(-40)
            .map((l) => l.slice(0, 600))
            .join('\n')}`,
        );
      await waitFor('the worker ready', async () => (await readyz()) === 200, 60_000).catch((err) => {
        throw withOutput(err);
      });
      // Judged as a readiness probe is (a timeout of 2 s, failure after 3 in a row): a worker
      // that answered late on a loaded machine stayed ready; one that answered 503 did not.
      const notReady: string[] = [];
      let unanswered: string[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const status = await readyz();
          const seen = `${new Date().toISOString()} /readyz ${status || 'no answer within 2 s'}`;
          if (status === 0) unanswered.push(seen);
          else unanswered = [];
          if (status !== 0 && status !== 200) notReady.push(seen);
          if (unanswered.length === 3) notReady.push(...unanswered);
          await new Promise((r) => setTimeout(r, 250));
        }
      })();

      try {
        // The other partitions' first wave is applied (with or without the fix); the second
        // wave, on every partition, arrives while partition 0's dead letters are (or were) sent.
        await waitFor(
          'partitions 1-3 applied through the first wave',
          async () => {
            const applied = await store.appliedOffsets(topic);
            return [1, 2, 3].every((p) => applied.get(p) === lastOffset(firstWave, p));
          },
          60_000,
        ).catch((err) => {
          throw withOutput(err);
        });
        const secondWave = await produceValid(valid.slice(half));

        const expected = expectedTotals(valid.map((v) => v.event));
        const scopes = [...expected.keys()];
        const redisDiffs = async () => {
          const live = await store.readTotals(scopes);
          return scopes
            .filter((s) => JSON.stringify(live.get(s)) !== JSON.stringify(expected.get(s)))
            .map((s) => `${s}: got ${JSON.stringify(live.get(s))} want ${JSON.stringify(expected.get(s))}`);
        };
        await waitFor(
          'exact totals in Redis for every scope',
          async () => (await redisDiffs()).length === 0,
          90_000,
          500,
        ).catch(async (err) => {
          const applied = JSON.stringify([...(await store.appliedOffsets(topic))]);
          const ends = JSON.stringify([0, 1, 2, 3].map((p) => [p, lastOffset([...firstWave, ...secondWave], p)]));
          throw withOutput(
            new Error(
              `${(await redisDiffs()).slice(0, 5).join('\n')}\napplied offsets ${applied}, last offsets ${ends}\n${(err as Error).message}`,
            ),
          );
        });

        // ClickHouse is written shortly after Redis: one row per valid event, the same totals per scope.
        const stored = async () => {
          const rs = await ch.query({
            query: `SELECT count() AS rows, uniqExact(kafka_partition, kafka_offset) AS offsets FROM ${database}.lt_events WHERE topic = {topic:String}`,
            query_params: { topic },
            format: 'JSONEachRow',
          });
          return (await rs.json<{ rows: string; offsets: string }>())[0];
        };
        await waitFor(
          'ClickHouse holds every valid event',
          async () => (await stored())?.rows === String(valid.length),
          60_000,
        ).catch(async (err) => {
          throw withOutput(
            new Error(`${(err as Error).message} (stored ${JSON.stringify(await stored())}, want ${valid.length})`),
          );
        });
        expect(await stored()).toEqual({ rows: String(valid.length), offsets: String(valid.length) });
        const history = await clickhouseTotals(ch, database, topic);
        for (const scope of scopes) expect(history.get(scope), scope).toEqual(expected.get(scope));

        // The dead-letter ledger: every invalid offset exactly once, none for a valid offset.
        const letters = await readTopic(kafka, dlqTopic, invalid.length, 60_000);
        const byOffset = new Map<string, (typeof letters)[number][]>();
        for (const l of letters) {
          const at = `${l.headers['lt-partition']}@${l.headers['lt-offset']}`;
          byOffset.set(at, [...(byOffset.get(at) ?? []), l]);
        }
        expect([...byOffset].filter(([, copies]) => copies.length > 1).map(([at]) => at)).toEqual([]);
        expect([...byOffset.keys()].sort()).toEqual(invalid.map((m) => `${m.partition}@${m.offset}`).sort());
        for (const m of invalid) {
          const [letter] = byOffset.get(`${m.partition}@${m.offset}`)!;
          expect(letter!.headers['lt-topic']).toBe(topic);
          expect(letter!.headers['lt-reason']).toBe(reasonOf(m.value));
        }
        // Burst letters carry their original unchanged.
        for (const m of invalid.slice(0, BURST)) {
          const letter = byOffset.get(`${m.partition}@${m.offset}`)![0]!;
          expect(letter.headers['lt-value']).toBe('original');
          expect(letter.value?.equals(m.value)).toBe(true);
        }
        // Oversized originals: the first LIMITS.maxEventBytes bytes, their size and hash.
        for (const m of invalid.slice(BURST, BURST + oversized.length)) {
          const letter = byOffset.get(`${m.partition}@${m.offset}`)![0]!;
          expect(letter.headers).toMatchObject({
            'lt-reason': 'oversized',
            'lt-value': 'truncated',
            'lt-original-bytes': String(m.value.length),
            'lt-original-sha256': sha256(m.value),
          });
          expect(letter.value?.equals(m.value.subarray(0, LIMITS.maxEventBytes))).toBe(true);
        }
        // The letter with the 100 KB key exceeds the topic's 64 KiB even alone: parked, reason kept.
        const parked = invalid.at(-1)!;
        const parkedLetter = byOffset.get(`${parked.partition}@${parked.offset}`)![0]!;
        expect(parkedLetter.headers).toMatchObject({
          'lt-reason': 'not_json',
          'lt-value': 'omitted',
          'lt-original-bytes': String(parked.value.length),
          'lt-original-sha256': sha256(parked.value),
        });
        expect(parkedLetter.headers['lt-parked']).toMatch(/refused/);
        expect(parkedLetter.value?.length ?? 0).toBe(0);

        // No batch ever failed (the old code retried partition 0's batch forever) and the worker stayed ready.
        expect(worker.output()).not.toMatch(/batch failed; retrying/);
        expect(notReady).toEqual([]);
        expect(await readyz()).toBe(200);
      } finally {
        sampling = false;
        await sampler;
      }
    },
  );

  /** Produces to one partition in requests of at most 256 KB; returns each message with its offset. */
  async function produce(partition: number, messages: { key: Buffer; value: Buffer }[]): Promise<Produced[]> {
    const out: Produced[] = [];
    for (let i = 0; i < messages.length;) {
      const chunk: typeof messages = [];
      for (
        let bytes = 0;
        i < messages.length && (chunk.length === 0 || bytes + messages[i]!.value.length < 256_000);
        i++
      ) {
        bytes += messages[i]!.value.length;
        chunk.push(messages[i]!);
      }
      const [meta] = await producer.send({ topic, acks: -1, messages: chunk.map((m) => ({ ...m, partition })) });
      chunk.forEach((m, j) => out.push({ partition, offset: String(BigInt(meta!.baseOffset!) + BigInt(j)), ...m }));
    }
    return out;
  }

  async function produceValid(messages: { partition: number; key: Buffer; value: Buffer }[]): Promise<Produced[]> {
    const out: Produced[] = [];
    for (let p = 0; p < PARTITIONS; p++)
      out.push(
        ...(await produce(
          p,
          messages.filter((m) => m.partition === p),
        )),
      );
    return out;
  }
});

/** A stream_started event of about 1 KB whose title is too long: invalid, for one stream. */
function burstEvent(i: number, now: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      type: 'stream_started',
      eventId: `burst-${i}`,
      platform: 'douyin',
      streamId: 'stream-burst',
      hostId: 'host-burst',
      ts: now - 60_000,
      city: 'Shenzhen',
      district: 'Nanshan',
      category: 'beauty',
      title: 'T'.repeat(900),
    }),
  );
}

function reasonOf(value: Buffer): string | undefined {
  const r = decodeEvent(value, Date.now());
  return r.ok ? undefined : r.errors[0]?.reason;
}

function lastOffset(produced: Produced[], partition: number): string | undefined {
  return produced.filter((m) => m.partition === partition).at(-1)?.offset;
}

function sha256(value: Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}
