import { gzipSync } from 'node:zlib';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { newApiKey, platformEvents, startCollectorProcess, type CollectorProcess } from './support/collector';
import { createTopics, deleteTopics, readTopic, testKafka } from './support/kafka';
import { freePort, uniqueName } from './support/stack';

/**
 * The real collector process on a fresh topic of the real local Kafka: what it accepts
 * is in the topic exactly once; what it refuses is not there at all.
 */
const run = uniqueName('collector');
const topic = `lt.${run}`;
const KEYS = { douyin: newApiKey('douyin'), taobao: newApiKey('taobao'), kuaishou: newApiKey('kuaishou') };
const auth = (platform: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[platform]}` });
const RATE = 500;
const BURST = 1_000;

describe('collector on the real stack', () => {
  let kafka: Kafka;
  let collector: CollectorProcess;
  const stored = new Map<string, LiveEvent>(); // every event the collector acknowledged

  const accept = (events: LiveEvent[], results: { status: string; eventId: string }[]) => {
    results.forEach((r, i) => {
      if (r.status === 'accepted') stored.set(r.eventId, events[i]!);
    });
  };

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [{ topic, numPartitions: 3 }]);
    collector = await startCollectorProcess({
      KAFKA_TOPIC: topic,
      COLLECTOR_API_KEYS: Object.entries(KEYS)
        .map(([p, k]) => `${p}:${k}`)
        .join(','),
      COLLECTOR_RATE_LIMIT_EVENTS_PER_SEC: String(RATE),
      COLLECTOR_RATE_LIMIT_BURST: String(BURST),
      COLLECTOR_MAX_BATCH_EVENTS: '1000',
      COLLECTOR_MAX_BODY_BYTES: String(1024 * 1024),
    });
  });

  afterAll(async () => {
    await collector?.stop();
    await deleteTopics(kafka, [topic]);
  });

  it('accepts valid events, reports rejected and in-batch duplicates per event (207)', async () => {
    const events = platformEvents(1, 300, 'douyin');
    const badSale = {
      ...events[0]!,
      type: 'sale',
      eventId: 'douyin-bad',
      orderId: 'o-1',
      sku: 'sku-1',
      quantity: 1,
      amountFen: -5,
    };
    const body = [...events, badSale, events[1]!, { nonsense: true }];
    const res = await collector.post({ events: body }, auth('douyin'));
    expect(res.status).toBe(207);
    expect(res.json).toMatchObject({ accepted: 300, duplicates: 1, rejected: 2 });
    expect(res.json.results[301]).toEqual({ index: 301, eventId: events[1]!.eventId, status: 'duplicate_in_batch' });
    expect(res.json.results[300]).toMatchObject({
      index: 300,
      eventId: 'douyin-bad',
      status: 'rejected',
      errors: [{ field: 'amountFen', reason: 'out_of_range' }],
    });
    expect(res.json.results[302]).toMatchObject({
      index: 302,
      eventId: null,
      status: 'rejected',
      errors: [{ field: 'v', reason: 'missing_field' }],
    });
    accept(events, res.json.results);
  });

  it('takes gzip bodies (200 when all are accepted)', async () => {
    const events = platformEvents(2, 400, 'taobao');
    const res = await collector.post(gzipSync(JSON.stringify(events)), {
      ...auth('taobao'),
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: 400, duplicates: 0, rejected: 0 });
    accept(events, res.json.results);
  });

  it('refuses a request carrying another platform’s events (403) and stores none of it', async () => {
    const events = [...platformEvents(3, 5, 'douyin'), ...platformEvents(4, 1, 'taobao')];
    const res = await collector.post({ events }, auth('douyin'));
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({
      code: 'FORBIDDEN_PLATFORM',
      details: { platform: 'douyin', indexes: [5] },
    });
  });

  it('answers bad requests from the error catalogue', async () => {
    const one = platformEvents(5, 1, 'douyin');
    const cases: [string, Promise<{ status: number; json: any }>, number, string][] = [
      ['no key', collector.post({ events: one }), 401, 'UNAUTHORIZED'],
      [
        'unknown key',
        collector.post({ events: one }, { authorization: `Bearer ${newApiKey('douyin')}` }),
        401,
        'UNAUTHORIZED',
      ],
      ['malformed JSON', collector.post('{"events": [', auth('douyin')), 400, 'INVALID_JSON'],
      ['wrong shape', collector.post({ evts: one }, auth('douyin')), 400, 'INVALID_BODY'],
      [
        'wrong content type',
        collector.post('x', { ...auth('douyin'), 'content-type': 'text/csv' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'oversized body',
        collector.post({ events: one, pad: 'x'.repeat(1024 * 1024) }, auth('douyin')),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'zip bomb',
        collector.post(gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)), {
          ...auth('douyin'),
          'content-encoding': 'gzip',
        }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['too many events', collector.post(platformEvents(6, 1001, 'douyin'), auth('douyin')), 413, 'TOO_MANY_EVENTS'],
    ];
    for (const [label, pending, status, code] of cases) {
      const res = await pending;
      expect({ label, status: res.status, code: res.json?.error?.code }).toEqual({ label, status, code });
    }
  });

  it('rate-limits a platform with 429 and Retry-After, leaving the others alone', async () => {
    const first = platformEvents(7, BURST, 'kuaishou');
    const ok = await collector.post(first, auth('kuaishou'));
    expect(ok.status).toBe(200);
    accept(first, ok.json.results);
    const limited = await collector.post(platformEvents(8, 800, 'kuaishou'), auth('kuaishou'));
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(800 / RATE));
    const other = platformEvents(9, 10, 'douyin');
    const fine = await collector.post(other, auth('douyin'));
    expect(fine.status).toBe(200);
    accept(other, fine.json.results);
  });

  it('has put every acknowledged event in Kafka exactly once, keyed by streamId, and nothing else', async () => {
    const messages = await readTopic(kafka, topic, stored.size, 30_000);
    const seen = new Map<string, number>();
    const partitionOfStream = new Map<string, Set<number>>();
    for (const m of messages) {
      const event = JSON.parse(m.value!.toString('utf8')) as LiveEvent;
      seen.set(event.eventId, (seen.get(event.eventId) ?? 0) + 1);
      expect(event).toEqual(stored.get(event.eventId));
      partitionOfStream.set(event.streamId, (partitionOfStream.get(event.streamId) ?? new Set()).add(m.partition));
    }
    // key = streamId: each stream's events share one partition, and the streams spread over several.
    expect([...partitionOfStream.values()].every((p) => p.size === 1)).toBe(true);
    expect(new Set(messages.map((m) => m.partition)).size).toBeGreaterThan(1);
    expect(messages.length).toBe(stored.size);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(seen.keys())).toEqual(new Set(stored.keys()));
    // Metrics live on their own loopback listener, not on the platforms' port.
    expect((await fetch(`${collector.url}/metrics`, { headers: auth('kuaishou') })).status).toBe(404);
    const metrics = await (await fetch(collector.metricsUrl)).text();
    expect(metrics).toContain('livetally_collector_events_total{platform="kuaishou",result="accepted"} 1000');
    expect(metrics).toMatch(/livetally_collector_kafka_produce_duration_seconds_count\{outcome="ok"\} [1-9]/);
  });

  it('answers 503 with Retry-After and stays up while Kafka is unreachable', async () => {
    const closedPort = await freePort();
    const orphan = await startCollectorProcess(
      {
        KAFKA_BROKERS: `127.0.0.1:${closedPort}`,
        KAFKA_TOPIC: topic,
        COLLECTOR_API_KEYS: `douyin:${KEYS.douyin}`,
        COLLECTOR_PRODUCE_TIMEOUT_MS: '2000',
      },
      { waitReady: false },
    );
    try {
      expect((await fetch(`${orphan.url}/readyz`)).status).toBe(503);
      for (let i = 0; i < 3; i++) {
        const res = await orphan.post(platformEvents(10 + i, 20, 'douyin'), auth('douyin'));
        expect(res.status).toBe(503);
        expect(res.json.error.code).toBe('KAFKA_UNAVAILABLE');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expect((await fetch(`${orphan.url}/healthz`)).status).toBe(200);
      expect(orphan.process.child.exitCode).toBeNull();
    } finally {
      const started = Date.now();
      expect(await orphan.stop()).toBe(0);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await collector.stop()).toBe(0);
  });
});
