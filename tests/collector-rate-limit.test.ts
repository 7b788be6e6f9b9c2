import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey, platformEvents, startCollectorProcess, type CollectorProcess } from './support/collector';
import { createTopics, deleteTopics, testKafka } from './support/kafka';
import { uniqueName } from './support/stack';

/**
 * Two real collector processes behind an imagined load balancer, sharing one Redis:
 * a platform's event limit is one limit over both, not one per instance.
 */
const run = uniqueName('collector-limit');
const topic = `lt.${run}`;
const KEYS = { douyin: newApiKey('douyin'), taobao: newApiKey('taobao') };
const auth = (platform: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[platform]}` });
// 20 events per window of 20 s: the test sends its batches well within one window.
const BURST = 20;
const BATCH = 10;

describe('collector rate limit shared through Redis', () => {
  let kafka: Kafka;
  let collectors: CollectorProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [{ topic, numPartitions: 1 }]);
    const env = {
      KAFKA_TOPIC: topic,
      COLLECTOR_API_KEYS: Object.entries(KEYS)
        .map(([p, k]) => `${p}:${k}`)
        .join(','),
      COLLECTOR_RATE_LIMIT_EVENTS_PER_SEC: '1',
      COLLECTOR_RATE_LIMIT_BURST: String(BURST),
      COLLECTOR_MAX_BATCH_EVENTS: String(BATCH),
      // Both instances count in the same place, as a fleet configured alike does.
      REDIS_KEY_PREFIX: run,
    };
    collectors = await Promise.all([startCollectorProcess(env), startCollectorProcess(env)]);
  });

  afterAll(async () => {
    await Promise.all(collectors.map((c) => c.stop()));
    await deleteTopics(kafka, [topic]);
  });

  it('accepts a platform up to its limit over both instances, then answers 429 RATE_LIMITED with Retry-After on either', async () => {
    const [a, b] = collectors as [CollectorProcess, CollectorProcess];
    const events = platformEvents(3, 4 * BATCH, 'douyin');
    const batch = (i: number) => ({ events: events.slice(i * BATCH, (i + 1) * BATCH) });
    expect((await a.post(batch(0), auth('douyin'))).status).toBe(200);
    expect((await b.post(batch(1), auth('douyin'))).status).toBe(200);
    for (const [collector, i] of [
      [a, 2],
      [b, 3],
    ] as const) {
      const refused = await collector.post(batch(i), auth('douyin'));
      expect(refused.status).toBe(429);
      expect(refused.json.error).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(20);
    }
    // Another platform has a limit of its own.
    expect((await b.post({ events: platformEvents(4, BATCH, 'taobao') }, auth('taobao'))).status).toBe(200);
  });
});
