import { Partitioners, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@livetally/kafka';
import { createLogger } from '@livetally/logging';
import type { LiveEvent } from '@livetally/events';
import { KafkaEventSink, RecordsTooLargeError } from '../services/collector/src/kafka-sink';
import { newApiKey, platformEvents, startCollectorProcess, type CollectorProcess } from './support/collector';
import { createTopics, deleteTopics, readTopic, testKafka } from './support/kafka';
import { STACK, uniqueName, waitFor } from './support/stack';

/**
 * Issue 10 (j): a topic whose max.message.bytes is small (32 KiB), so one platform's
 * request for one hot stream (one key → one partition → one record batch) is refused by
 * the broker as too large. That request alone gets a 413 of its own; the next requests of
 * every platform are stored at once (no 503, no cooldown), and no acknowledged event goes
 * missing afterwards. A collector told the topic's limit splits a large request into
 * produce calls that fit, keys and record overhead counted, and stores all of it.
 */
const run = uniqueName('collector-oversized');
const topic = `lt.${run}`;
const TOPIC_MAX_MESSAGE_BYTES = 32_768;
const KEYS = { douyin: newApiKey('douyin'), taobao: newApiKey('taobao'), kuaishou: newApiKey('kuaishou') };
const auth = (platform: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[platform]}` });
const apiKeys = Object.entries(KEYS)
  .map(([p, k]) => `${p}:${k}`)
  .join(',');

/** `count` events of one stream (one Kafka key), ids prefixed by `tag`. */
function streamEvents(tag: string, platform: string, streamId: string, count: number): LiveEvent[] {
  return platformEvents(tag.length * 7919 + count, count, platform).map((e, i) => ({
    ...e,
    streamId,
    eventId: `${tag}-${i}`,
  }));
}

/** One event on each of `streams` side streams: records for other partitions in the same produce call. */
function sideEvents(tag: string, platform: string, streams: number): LiveEvent[] {
  return Array.from({ length: streams }, (_, i) => streamEvents(`${tag}-${i}`, platform, `${run}-side-${i}`, 1)[0]!);
}

describe('collector: a request the broker refuses as too large', () => {
  let kafka: Kafka;
  let collector: CollectorProcess;
  /** eventIds answered as stored (200), which must all be in the topic. */
  const acknowledged = new Set<string>();
  /** eventIds of hot streams whose record batch the broker refused: none may be in the topic. */
  const refused = new Set<string>();
  /** eventIds stored by a request that never met a refusal: exactly once each. */
  const storedOnce = new Set<string>();

  const expectStored = async (who: CollectorProcess, platform: keyof typeof KEYS, events: LiveEvent[]) => {
    const res = await who.post({ events }, auth(platform));
    expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status: 200, code: undefined });
    for (const e of events) acknowledged.add(e.eventId);
  };

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      {
        topic,
        numPartitions: 3,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
      },
    ]);
    // Its produce size is the default (1 MiB), above what this topic takes: the broker decides.
    collector = await startCollectorProcess({ KAFKA_TOPIC: topic, COLLECTOR_API_KEYS: apiKeys });
  });

  afterAll(async () => {
    await collector?.stop();
    await deleteTopics(kafka, [topic]);
  });

  it('answers that request alone with 413 TOO_LARGE_FOR_KAFKA; the next requests of every platform get 200 at once', async () => {
    const hot = streamEvents('hot-1', 'douyin', `${run}-hot-1`, 600);
    const body = { events: [...hot, ...sideEvents('side-1', 'douyin', 10)] };
    expect(JSON.stringify(body).length).toBeLessThan(1_048_576); // legal for the collector's body cap
    const res = await collector.post(body, auth('douyin'));
    expect(res.status).toBe(413);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.json.error).toMatchObject({
      code: 'TOO_LARGE_FOR_KAFKA',
      details: { largestStream: { streamId: `${run}-hot-1`, events: 600 } },
    });
    expect(res.json.error.details.largestStream.bytes).toBeGreaterThan(TOPIC_MAX_MESSAGE_BYTES);
    expect(res.json.error.message).toMatch(/smaller requests/);
    for (const e of hot) refused.add(e.eventId);

    // Immediately after: no cooldown for anyone.
    expect((await fetch(`${collector.url}/readyz`)).status).toBe(200);
    await expectStored(collector, 'taobao', platformEvents(11, 20, 'taobao'));
    await expectStored(collector, 'kuaishou', platformEvents(12, 20, 'kuaishou'));
    // The same platform and the same side streams (same count per partition as the refused
    // call wrote there): a producer whose sequence numbers had not been reset would have
    // these acknowledged by the broker as duplicates and never written.
    await expectStored(collector, 'douyin', sideEvents('side-2', 'douyin', 10));
    await expectStored(collector, 'douyin', platformEvents(13, 20, 'douyin'));
  });

  it('isolates the refused request from requests that arrive with it', async () => {
    const hot = streamEvents('hot-2', 'douyin', `${run}-hot-2`, 600);
    const others = [platformEvents(21, 30, 'taobao'), platformEvents(22, 30, 'kuaishou')];
    const [big, taobao, kuaishou] = await Promise.all([
      collector.post({ events: hot }, auth('douyin')),
      collector.post({ events: others[0] }, auth('taobao')),
      collector.post({ events: others[1] }, auth('kuaishou')),
    ]);
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('TOO_LARGE_FOR_KAFKA');
    for (const e of hot) refused.add(e.eventId);
    expect([taobao.status, kuaishou.status]).toEqual([200, 200]);
    for (const e of others.flat()) acknowledged.add(e.eventId);
  });

  it('splits a large legal request into produce calls under COLLECTOR_MAX_PRODUCE_BYTES, keys and overhead counted', async () => {
    const fitting = await startCollectorProcess({
      KAFKA_TOPIC: topic,
      COLLECTOR_API_KEYS: apiKeys,
      COLLECTOR_MAX_PRODUCE_BYTES: String(TOPIC_MAX_MESSAGE_BYTES),
    });
    try {
      // A 128-character stream id is the key of every record and is in every value too: the
      // keys add about 40 % to the values, so splitting by values alone would pass the limit.
      const longStream = `${run}-long-`.padEnd(128, 'x');
      const events = streamEvents('long', 'taobao', longStream, 600);
      await expectStored(fitting, 'taobao', events);
      for (const e of events) storedOnce.add(e.eventId);
    } finally {
      expect(await fitting.stop()).toBe(0);
    }
  });

  it('has every acknowledged event in the topic, and none of a refused hot stream', async () => {
    const messages = await readTopic(kafka, topic, acknowledged.size, 30_000);
    const seen = new Map<string, number>();
    for (const m of messages) {
      const { eventId } = JSON.parse(m.value!.toString('utf8')) as LiveEvent;
      seen.set(eventId, (seen.get(eventId) ?? 0) + 1);
    }
    expect([...acknowledged].filter((id) => !seen.has(id))).toEqual([]);
    expect([...refused].filter((id) => seen.has(id))).toEqual([]);
    expect([...storedOnce].filter((id) => seen.get(id) !== 1)).toEqual([]);
    const metrics = await (await fetch(collector.metricsUrl)).text();
    expect(metrics).toContain(
      'livetally_collector_refused_requests_total{platform="douyin",code="TOO_LARGE_FOR_KAFKA"} 2',
    );
    expect(metrics).not.toContain('code="KAFKA_UNAVAILABLE"');
  });
});

describe('KafkaEventSink on the real broker: a refused record batch', () => {
  const sinkTopic = `${topic}-sink`;
  const logger = createLogger({ service: 'collector', level: 'silent' });
  let kafka: Kafka;
  let sink: KafkaEventSink;
  const record = (key: string, value: string) => ({ key, value: Buffer.from(value) });
  const hotRecords = (tag: string) =>
    Array.from({ length: 300 }, (_, i) => record(`${run}-hot`, `${tag}-${i}-${'x'.repeat(200)}`));
  const sideRecords = (tag: string) => Array.from({ length: 10 }, (_, i) => record(`${run}-side-${i}`, `${tag}-${i}`));

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      {
        topic: sinkTopic,
        numPartitions: 3,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
      },
    ]);
    const client = createKafka({ clientId: run, brokers: STACK.kafkaBrokers, logger });
    sink = new KafkaEventSink({
      createProducer: () =>
        client.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          retry: { retries: Number.MAX_SAFE_INTEGER },
          createPartitioner: Partitioners.DefaultPartitioner,
        }),
      topic: sinkTopic,
      timeoutMs: 10_000,
      maxPendingEvents: 10_000,
      logger,
      maxProduceBytes: 1_048_576,
    });
    sink.start();
    await waitFor('sink connected', async () => sink.isReady(), 30_000, 50);
  });

  afterAll(async () => {
    await sink?.stop(5_000);
    await deleteTopics(kafka, [sinkTopic]);
  });

  it('fails only the request that carried the refused batch; what queued with it and what follows is written', async () => {
    // While `warm` is in flight the next two queue and go out together in one produce call.
    const warm = sink.send(sideRecords('warm'));
    const big = sink.send([...hotRecords('big'), ...sideRecords('big')]);
    const innocent = sink.send(sideRecords('innocent'));
    await warm;
    const refusal = await big.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(RecordsTooLargeError);
    expect(refusal).toMatchObject({ largestStream: { streamId: `${run}-hot`, events: 300 } });
    await innocent;
    expect(sink.isReady()).toBe(true);
    // Same keys and counts per partition as the partly written refused call.
    await sink.send(sideRecords('after'));

    const values = new Set((await readTopic(kafka, sinkTopic, 30, 30_000)).map((m) => m.value!.toString('utf8')));
    for (const tag of ['warm', 'innocent', 'after'])
      expect(sideRecords(tag).filter((r) => !values.has(r.value.toString('utf8')))).toEqual([]);
    expect(hotRecords('big').filter((r) => values.has(r.value.toString('utf8')))).toEqual([]);
  });
});
