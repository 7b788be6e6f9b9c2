import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounterStore } from '@livetally/live-state';
import type { LiveEvent } from '@livetally/events';
import { createLiveTallyClient, type EventInput } from '@livetally/sdk';
import { expectedTotals } from '../services/simulator/src/dataset';
import { newApiKey, platformEvents, startCollectorProcess, type CollectorProcess } from './support/collector';
import { createTopics, deleteTopics, readTopic, testKafka, waitUntilStored } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, clickhouseEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * The SDK over HTTP through a loopback proxy that lets some requests reach the real
 * collector (so Kafka stores their events) and then cuts the connection instead of
 * answering. The SDK retries those batches with the same eventIds; Kafka ends up with
 * two copies of their events, and the real ingest worker still counts every
 * acknowledged event exactly once.
 */
const run = uniqueName('sdk');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const database = run;
const prefix = run;
const KEY = newApiKey('douyin');
const COUNT = 3_000;
const DROP_RESPONSES_OF = new Set([2, 5, 6]); // request numbers, by arrival

describe('SDK over HTTP with lost responses, counted by the real pipeline', () => {
  let kafka: Kafka;
  let collector: CollectorProcess;
  let proxy: Server;
  let proxyUrl: string;
  let worker: ServiceProcess | undefined;
  let redis: Redis;
  let ch: ClickHouseClient;
  let requests = 0;
  const dropped: number[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 4 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    redis = new Redis(STACK.redisUrl);
    ch = stackClickHouse({ clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    collector = await startCollectorProcess({ KAFKA_TOPIC: topic, COLLECTOR_API_KEYS: `douyin:${KEY}` });
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const n = ++requests;
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'content-encoding', 'authorization'])
          if (req.headers[h]) headers[h] = String(req.headers[h]);
        const upstream = await fetch(`${collector.url}${req.url}`, {
          method: req.method,
          headers,
          body: Buffer.concat(chunks),
          signal: AbortSignal.timeout(30_000),
        }).catch(() => null);
        if (!upstream) return void res.writeHead(502).end();
        const body = Buffer.from(await upstream.arrayBuffer());
        if (DROP_RESPONSES_OF.has(n) && upstream.status === 200) {
          dropped.push(n);
          return void req.socket.destroy(); // the collector answered (Kafka has the events); the client never hears it
        }
        const out: Record<string, string> = {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        };
        const retryAfter = upstream.headers.get('retry-after');
        if (retryAfter) out['retry-after'] = retryAfter;
        res.writeHead(upstream.status, out).end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await worker?.stop();
    await collector?.stop();
    await new Promise((r) => proxy?.close(r));
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await ch?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  it('retries with the same eventIds and every acknowledged event is counted once', async () => {
    // Half the events come without an eventId (the SDK assigns one) and all without a platform (the client's default).
    const source = platformEvents(42, COUNT, 'douyin');
    const inputs = source.map(
      ({ platform: _p, eventId, ...rest }, i) => (i % 2 === 0 ? { ...rest, eventId } : rest) as EventInput,
    );
    const client = createLiveTallyClient({
      transport: 'http',
      url: proxyUrl,
      apiKey: KEY,
      platform: 'douyin',
      maxBatchEvents: 250,
      lingerMs: 20,
      baseBackoffMs: 50,
      maxBackoffMs: 500,
      maxAttempts: 6,
    });
    const outcomes = await client.sendMany(inputs);
    const report = await client.close();

    expect(report.failed).toEqual([]);
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(dropped).toEqual([...DROP_RESPONSES_OF]);
    const attempts = new Map(outcomes.map((o) => [o.eventId, o.status === 'accepted' ? o.attempts : 0]));
    expect(attempts.size).toBe(COUNT);
    expect([...attempts.values()].some((a) => a > 1)).toBe(true);
    source.forEach((e, i) => i % 2 === 0 && expect(attempts.has(e.eventId)).toBe(true));

    // Every attempt reached the collector (only answers were lost), so Kafka holds each event
    // once per attempt, always under the same eventId and with identical content.
    const sent = [...attempts.values()].reduce((a, b) => a + b, 0);
    const messages = await readTopic(kafka, topic, sent, 30_000);
    const copies = new Map<string, LiveEvent[]>();
    for (const m of messages) {
      const e = JSON.parse(m.value!.toString('utf8')) as LiveEvent;
      copies.set(e.eventId, [...(copies.get(e.eventId) ?? []), e]);
    }
    expect(messages.length).toBe(sent);
    expect(new Set(copies.keys())).toEqual(new Set(attempts.keys()));
    for (const [eventId, list] of copies) {
      expect(list.length, eventId).toBe(attempts.get(eventId));
      for (const copy of list) expect(copy).toEqual(list[0]);
    }

    process.stdout.write(
      `[sdk] ${COUNT} events acknowledged; ${dropped.length} answers dropped by the proxy; Kafka holds ${sent} messages (${sent - COUNT} resent copies)\n`,
    );

    // The real ingest worker counts each event once.
    worker = startService('ingest', {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: dlqTopic,
      KAFKA_GROUP_ID: run,
      REDIS_URL: STACK.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      ...clickhouseEnv(),
      CLICKHOUSE_DATABASE: database,
      INGEST_HTTP_PORT: '0',
    });
    const expected = expectedTotals(source);
    const store = new RedisCounterStore(redis, { prefix });
    const want = expected.get('all')!;
    await waitFor(
      'exact totals in Redis',
      async () => JSON.stringify((await store.readTotals(['all'])).get('all')) === JSON.stringify(want),
      90_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- worker ---\n${worker!.output().slice(-3000)}`);
    });
    const scopes = [...expected.keys()];
    const live = await store.readTotals(scopes);
    for (const scope of scopes) expect(live.get(scope), scope).toEqual(expected.get(scope));
    await waitUntilStored(redis, prefix, topic);
    const rs = await ch.query({
      query: `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${database}.lt_events WHERE topic = {topic:String}`,
      query_params: { topic },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: String(COUNT), ids: String(COUNT) }]);
  });
});
