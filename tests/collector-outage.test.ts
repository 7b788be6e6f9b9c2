import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { newApiKey, platformEvents, startCollectorProcess, type CollectorProcess } from './support/collector';
import { startKafka, type DedicatedService } from './support/dedicated';
import { createTopics, readTopic } from './support/kafka';
import { uniqueName, waitFor } from './support/stack';

/**
 * The collector against its own Kafka broker, stopped and restarted mid-stream: while
 * the broker is away requests get 503 (never a false 200) and the process stays up;
 * once it is back the collector recovers by itself, and every event it acknowledged is
 * in the topic.
 */
const topic = `lt.${uniqueName('colout')}`;
const KEY = newApiKey('douyin');
const auth = { authorization: `Bearer ${KEY}` };

describe('collector through a Kafka restart', () => {
  let broker: DedicatedService;
  let kafka: Kafka;
  let collector: CollectorProcess;
  const acknowledged = new Set<string>();
  let seed = 100;

  const send = async () => {
    const events = platformEvents(seed++, 50, 'douyin');
    const res = await collector.post(events, auth);
    if (res.status === 200) for (const e of events) acknowledged.add(e.eventId);
    return res;
  };

  beforeAll(async () => {
    broker = await startKafka();
    kafka = new Kafka({
      clientId: 'collector-outage',
      brokers: [broker.url],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 300 },
    });
    await createTopics(kafka, [{ topic, numPartitions: 3 }]);
    collector = await startCollectorProcess({
      KAFKA_BROKERS: broker.url,
      KAFKA_TOPIC: topic,
      COLLECTOR_API_KEYS: `douyin:${KEY}`,
      COLLECTOR_PRODUCE_TIMEOUT_MS: '3000',
    });
  }, 180_000);

  afterAll(async () => {
    await collector?.stop();
    await broker?.remove();
  });

  it('answers 503 while the broker is down, recovers when it returns, and loses no acknowledged event', async () => {
    expect((await send()).status).toBe(200);

    await broker.stop('SIGTERM');
    const during: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await send();
      during.push(res.status);
      if (res.status === 503) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(during.every((s) => s === 503)).toBe(true);
    expect((await fetch(`${collector.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);

    await broker.start();
    await waitFor('a 200 after the broker returned', async () => (await send()).status === 200, 90_000, 1_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${collector.process.output().slice(-3000)}`);
      },
    );
    expect((await send()).status).toBe(200);
    expect(collector.process.child.exitCode).toBeNull();

    // Acknowledged events are all there; copies of 503-answered requests may be too (their
    // senders resend with the same eventIds, which the pipeline counts once).
    const messages = await readTopic(kafka, topic, acknowledged.size, 30_000);
    const stored = new Set(messages.map((m) => (JSON.parse(m.value!.toString('utf8')) as LiveEvent).eventId));
    for (const id of acknowledged) expect(stored.has(id), id).toBe(true);
    process.stdout.write(
      `[collector-outage] answers while down: ${during.join(', ')}; ${acknowledged.size} acknowledged events all in Kafka (${messages.length} messages)\n`,
    );
  });
});
