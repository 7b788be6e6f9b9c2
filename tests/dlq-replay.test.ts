import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounterStore } from '@livetally/live-state';
import { REPLAY_HEADERS, ReplayLedger, type LedgerEntry } from '../services/ingest/src/dlq/replay-ledger';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { runLivetally, type CliResult } from './support/cli';
import { createTopics, deleteTopics, testKafka, waitUntilApplied } from './support/kafka';
import { clickhouseTotals } from './support/ledger';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, clickhouseEnv, deletePrefix, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * Issue 15: `livetally dlq list` and `replay` against a real ingest worker. Some valid
 * events reach Kafka stamped by a producer clock three hours slow, so the worker judges
 * their event time more than 5 minutes in the future and dead-letters them
 * (out_of_range); the cause is outside the event, so once it is fixed a byte-exact
 * replay (stamped now) counts them. Every original must count exactly once in Redis and
 * ClickHouse, whichever way a replay is repeated: a subset first, then the whole reason
 * after two interrupted replays (one whose copy was sent, one whose was not), then the
 * whole reason again, then a copy sent behind the ledger's back (the workers' resend
 * deduplication). One of those events was also resent by its platform with a right
 * timestamp and counted: its letter is skipped, so it cannot count twice once its
 * fingerprint leaves the dedup window. Truncated letters are refused, and a dry run sends
 * nothing.
 */
const run = uniqueName('dlqreplay');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const ledgerTopic = `${dlqTopic}.replayed`;
const database = run;
const prefix = run;
const PARTITIONS = 2;
const ON_TIME = 240;
const SKEWED = 60;
const CLOCK_BEHIND_MS = 3 * 3_600_000;

interface Sent {
  partition: number;
  offset: string;
  value: Buffer;
}

interface LetterJson {
  letter: { topic: string; partition: number; offset: string };
  reason: string;
  original: { topic: string; partition: number; offset: string };
  value: { kind: string; base64: string };
  replayed?: LedgerEntry | null;
}

interface ReplayJson {
  applied: boolean;
  replayed: { letter: { partition: number; offset: string }; copy: { partition: number; offset: string } | null }[];
  recovered: { letter: { partition: number; offset: string } }[];
  alreadyReplayed: unknown[];
  sameOriginal: unknown[];
  counted: { letter: { partition: number; offset: string }; stored: { partition: number; offset: string } }[];
  refused: { why: string }[];
}

describe('livetally dlq: list and replay dead letters once their cause is fixed', () => {
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  let store: RedisCounterStore;
  let ch: ClickHouseClient;
  let worker: ServiceProcess | undefined;
  const cliEnv = {
    KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlqTopic,
    ...clickhouseEnv(),
    CLICKHOUSE_DATABASE: database,
  };
  const dlq = (...args: string[]) => runLivetally(['dlq', ...args], cliEnv, { timeoutMs: 180_000 });

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: PARTITIONS },
      { topic: dlqTopic, numPartitions: PARTITIONS },
    ]);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix });
    ch = stackClickHouse();
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  });

  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await deleteTopics(kafka, [topic, dlqTopic, ledgerTopic]);
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await ch?.close();
    await deletePrefix(redis, prefix);
    await redis?.quit();
  });

  it(
    'replays each original exactly once, byte for byte, and never counts one twice',
    { timeout: 420_000 },
    async () => {
      const now = Date.now();
      const dataset = buildDataset({
        seed: 1515,
        count: ON_TIME + SKEWED,
        startTs: now - 7_200_000,
        spanMs: 3_600_000,
        hosts: 30,
      });
      const onTime = dataset.slice(0, ON_TIME);
      const skewed = dataset.slice(ON_TIME);

      // Valid events stamped now; the same kind of events stamped three hours early (their
      // event time lies 1–2 h after their Kafka timestamp); broken and oversized messages.
      await produce(onTime.map((m) => ({ key: m.key, value: m.value })));
      const skewedSent = await produce(
        skewed.map((m) => ({ key: m.key, value: m.value, timestamp: String(now - CLOCK_BEHIND_MS) })),
      );
      // The platform resends the last of them with a right timestamp: counted at once.
      const resent = skewed.at(-1)!;
      const [resentCopy] = await produce([{ key: resent.key, value: resent.value }]);
      const broken = await produce([
        ...Array.from({ length: 4 }, (_, i) => ({
          key: `s-broken-${i}`,
          value: Buffer.from(`{"v":1,"type":"view",oops${i}`),
        })),
        ...Array.from({ length: 2 }, (_, i) => ({ key: `s-huge-${i}`, value: randomBytes(20_000) })),
      ]);

      worker = startService('ingest', ingestEnv({ topic, group: run, prefix, database }));
      const diagnostics = () => worker!.output().split('\n').slice(-40).join('\n');
      await waitUntilApplied(kafka, topic, () => store.appliedOffsets(topic), diagnostics);
      await expectCounted([...onTime, resent], 'the on-time events and the resent one only');

      // list: every letter per reason, each with its original whole.
      const listed = await dlq('list', '--json', '--limit', '1000');
      expect(listed.code, output(listed)).toBe(0);
      const list = JSON.parse(listed.stdout) as {
        matched: number;
        byReason: { reason: string; letters: number }[];
        letters: LetterJson[];
      };
      expect(list.matched).toBe(SKEWED + broken.length);
      expect(Object.fromEntries(list.byReason.map((r) => [r.reason, r.letters]))).toEqual({
        out_of_range: SKEWED,
        not_json: 4,
        oversized: 2,
      });
      const byOriginal = new Map(list.letters.map((l) => [`${l.original.partition}@${l.original.offset}`, l]));
      for (const sent of skewedSent) {
        const letter = byOriginal.get(`${sent.partition}@${sent.offset}`);
        expect(letter?.reason).toBe('out_of_range');
        expect(Buffer.from(letter!.value.base64, 'base64').equals(sent.value)).toBe(true);
        expect(letter!.replayed).toBeNull();
      }
      const text = await dlq('list', '--reason', 'not_json', '--since', '1h');
      expect(text.code, output(text)).toBe(0);
      expect(text.stdout).toContain(`${dlqTopic}: 4 letter(s) match`);
      expect(text.stdout).toMatch(/value: {2}\{"v":1,"type":"view",oops0/);

      const resentLetter = byOriginal.get(`${skewedSent.at(-1)!.partition}@${skewedSent.at(-1)!.offset}`)!;
      const outOfRange = list.letters.filter((l) => l.reason === 'out_of_range' && l !== resentLetter);
      const ends = await topicEnds();

      // A dry run (the default) says what it would send and sends nothing.
      const dry = await replay('--reason', 'out_of_range');
      expect(dry.applied).toBe(false);
      expect(dry.replayed).toHaveLength(SKEWED - 1);
      expect(dry.counted).toHaveLength(1);
      expect(dry.counted[0]).toMatchObject({
        letter: resentLetter.letter,
        stored: { partition: resentCopy!.partition, offset: resentCopy!.offset },
      });
      expect(dry.replayed.every((r) => r.copy === null)).toBe(true);
      expect(await topicEnds()).toEqual(ends);
      expect(await new ReplayLedger(kafka, ledgerTopic).exists()).toBe(false);

      // A subset by offsets first.
      const subset = outOfRange.slice(0, 5);
      const first = await replay(
        '--offsets',
        subset.map((l) => `${l.letter.partition}:${l.letter.offset}`).join(','),
        '--yes',
      );
      expect(first).toMatchObject({ applied: true, recovered: [], alreadyReplayed: [], refused: [] });
      expect(first.replayed.map((r) => r.letter.offset).sort()).toEqual(subset.map((l) => l.letter.offset).sort());

      // Two replays interrupted around their send: A's copy went out, B's did not.
      const [a, b] = [outOfRange[5]!, outOfRange[6]!];
      await interruptedReplay(a, true);
      await interruptedReplay(b, false);

      // The whole reason: the subset, A and the resent event are not sent again, B and the rest are.
      const all = await replay('--reason', 'out_of_range', '--yes');
      expect(all.refused).toEqual([]);
      expect(all.alreadyReplayed).toHaveLength(subset.length);
      expect(all.recovered.map((r) => r.letter.offset)).toEqual([a.letter.offset]);
      expect(all.counted.map((r) => r.letter.offset)).toEqual([resentLetter.letter.offset]);
      expect(all.replayed).toHaveLength(SKEWED - subset.length - 2);
      expect(all.replayed.map((r) => r.letter.offset)).toContain(b.letter.offset);
      await waitUntilApplied(kafka, topic, () => store.appliedOffsets(topic), diagnostics);
      await expectCounted(dataset, 'every event once');

      // The same replay again sends nothing.
      const endsAfter = await topicEnds();
      const again = await replay('--reason', 'out_of_range', '--yes');
      expect(again.replayed).toEqual([]);
      expect(again.alreadyReplayed).toHaveLength(SKEWED - 1);
      expect(again.counted).toHaveLength(1);
      expect(await topicEnds()).toEqual(endsAfter);

      // Cut originals cannot be replayed: refused, exit 1, nothing sent.
      const huge = await dlq('replay', '--reason', 'oversized', '--yes', '--json');
      expect(huge.code, output(huge)).toBe(1);
      const hugeReport = JSON.parse(huge.stdout) as ReplayJson;
      expect(hugeReport.replayed).toEqual([]);
      expect(hugeReport.refused.map((r) => r.why)).toEqual([
        expect.stringMatching(/cannot be replayed: the letter holds only the first 16384 of 20000 bytes/),
        expect.stringMatching(/cannot be replayed: the letter holds only the first 16384 of 20000 bytes/),
      ]);
      expect(await topicEnds()).toEqual(endsAfter);

      // A copy sent behind the ledger's back (two replays at the same moment) is a resend
      // of an event already counted: the worker drops it.
      const c = outOfRange[10]!;
      await producer.send({
        topic,
        acks: -1,
        messages: [{ partition: c.original.partition, key: null, value: Buffer.from(c.value.base64, 'base64') }],
      });
      await waitUntilApplied(kafka, topic, () => store.appliedOffsets(topic), diagnostics);
      await expectCounted(dataset, 'every event once after a second copy');

      // list shows where each letter's copy went.
      const after = JSON.parse((await dlq('list', '--json', '--reason', 'out_of_range', '--limit', '1000')).stdout) as {
        letters: LetterJson[];
      };
      expect(after.letters.filter((l) => l.replayed?.state === 'replayed')).toHaveLength(SKEWED - 1);
    },
  );

  async function replay(...args: string[]): Promise<ReplayJson> {
    const r = await dlq('replay', ...args, '--json');
    expect(r.code, output(r)).toBe(0);
    return JSON.parse(r.stdout) as ReplayJson;
  }

  /** What a replay leaves when it dies between its ledger's pending entry and its replayed one. */
  async function interruptedReplay(letter: LetterJson, sent: boolean): Promise<void> {
    const ledger = new ReplayLedger(kafka, ledgerTopic);
    await ledger.ensure();
    const id = `${letter.original.topic}:${letter.original.partition}:${letter.original.offset}`;
    const from = (await topicEnds()).get(letter.original.partition)!;
    const entry: LedgerEntry = {
      state: 'pending',
      letter: `${letter.letter.topic}:${letter.letter.partition}:${letter.letter.offset}`,
      target: { topic, partition: letter.original.partition },
      from,
      at: new Date().toISOString(),
    };
    await ledger.write(producer, new Map([[id, entry]]));
    if (sent)
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            partition: letter.original.partition,
            value: Buffer.from(letter.value.base64, 'base64'),
            headers: { [REPLAY_HEADERS.of]: id },
          },
        ],
      });
  }

  /** Redis and ClickHouse hold exactly `events`: the same totals in every scope, one row each. */
  async function expectCounted(messages: DatasetMessage[], what: string): Promise<void> {
    const expected = expectedTotals(messages.map((m) => m.event!));
    const scopes = [...expected.keys()];
    const redisDiffs = async () => {
      const live = await store.readTotals(scopes);
      return scopes
        .filter((s) => JSON.stringify(live.get(s)) !== JSON.stringify(expected.get(s)))
        .map((s) => `${s}: got ${JSON.stringify(live.get(s))} want ${JSON.stringify(expected.get(s))}`);
    };
    await waitFor(`${what} in Redis`, async () => (await redisDiffs()).length === 0, 60_000, 500).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${(await redisDiffs()).slice(0, 5).join('\n')}`);
    });
    const rows = async () => {
      const rs = await ch.query({
        query: `SELECT count() AS rows, uniqExact(event_id) AS events FROM ${database}.lt_events WHERE topic = {topic:String}`,
        query_params: { topic },
        format: 'JSONEachRow',
      });
      return (await rs.json<{ rows: string; events: string }>())[0];
    };
    await waitFor(`${what} in ClickHouse`, async () => Number((await rows())?.rows) >= messages.length, 60_000);
    expect(await rows(), what).toEqual({ rows: String(messages.length), events: String(messages.length) });
    const history = await clickhouseTotals(ch, database, topic);
    for (const scope of scopes) expect(history.get(scope), `${what}: ${scope}`).toEqual(expected.get(scope));
  }

  /** Produces in order, spread over the partitions by index; each message with where it landed. */
  async function produce(messages: { key: string; value: Buffer; timestamp?: string }[]): Promise<Sent[]> {
    const out: Sent[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const mine = messages.filter((_, i) => i % PARTITIONS === p);
      if (mine.length === 0) continue;
      const [meta] = await producer.send({ topic, acks: -1, messages: mine.map((m) => ({ ...m, partition: p })) });
      mine.forEach((m, j) =>
        out.push({ partition: p, offset: String(BigInt(meta!.baseOffset!) + BigInt(j)), value: m.value }),
      );
    }
    return out;
  }

  async function topicEnds(): Promise<Map<number, string>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    } finally {
      await admin.disconnect();
    }
  }
});

function output(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}
