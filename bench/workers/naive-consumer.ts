/**
 * The baseline people write first: kafkajs eachMessage with auto-commit; per event one
 * Redis MULTI of HINCRBYs (every scope × every measure the event touches) and one
 * ClickHouse INSERT of its row. No batching, no pre-aggregation, no exactly-once.
 * Stops after BENCH_MAX_EVENTS events or BENCH_MAX_SECONDS, whichever comes first.
 *
 * env: BENCH_TOPIC, BENCH_GROUP, BENCH_PREFIX, BENCH_DATABASE, BENCH_MAX_EVENTS, BENCH_MAX_SECONDS
 */
import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { keySpace, partitionTag } from '@livetally/live-state';
import { contributionOf, decodeEvent, scopesOf } from '@livetally/events';
import { toEventRow } from '@livetally/history';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const topic = env('BENCH_TOPIC');
const maxEvents = Number(env('BENCH_MAX_EVENTS'));
const maxMs = Number(env('BENCH_MAX_SECONDS')) * 1000;
const send = (m: unknown) => process.send?.(m);

const keys = keySpace(env('BENCH_PREFIX'));
const redis = new Redis(env('REDIS_URL', 'redis://127.0.0.1:6379'));
const ch = createClient({
  url: env('CLICKHOUSE_URL', 'http://127.0.0.1:8123'),
  username: env('CLICKHOUSE_USER', 'default'),
  password: env('CLICKHOUSE_PASSWORD', ''),
  database: env('BENCH_DATABASE'),
});
const kafka = new Kafka({
  clientId: 'livetally-bench-naive',
  brokers: env('KAFKA_BROKERS', '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({ groupId: env('BENCH_GROUP') });

let processed = 0;
let invalid = 0;
let firstAt = 0;
let lastAt = 0;
let done = false;
let finish!: (reason: string) => void;
const finished = new Promise<string>((r) => (finish = r));

await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
const startedAt = performance.now();
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    if (done) return;
    const r = decodeEvent(message.value, Date.now());
    if (!r.ok) {
      invalid++;
      return;
    }
    const contribution = contributionOf(r.event);
    const multi = redis.multi();
    for (const scope of scopesOf(r.event)) {
      for (const [field, by] of Object.entries(contribution))
        multi.hincrby(keys.totals(partitionTag(topic, partition), scope), field, by!);
    }
    await multi.exec();
    await ch.insert({
      table: 'lt_events',
      values: [toEventRow(r.event, { topic, partition, offset: message.offset })],
      format: 'JSONEachRow',
    });
    processed++;
    const now = performance.now();
    if (firstAt === 0) firstAt = now;
    lastAt = now;
    if (processed >= maxEvents || now - startedAt >= maxMs) {
      done = true;
      finish(processed >= maxEvents ? 'max-events' : 'max-seconds');
    }
  },
});
const progress = setInterval(() => send({ type: 'progress', processed }), 2000);
const timer = setTimeout(() => finish('max-seconds'), maxMs + 30_000);
const reason = await finished;
done = true;
clearInterval(progress);
clearTimeout(timer);
const seconds = (lastAt - firstAt) / 1000;
send({
  type: 'result',
  reason,
  processed,
  invalid,
  seconds,
  eventsPerSec: seconds > 0 ? (processed - 1) / seconds : NaN,
});
await consumer.disconnect().catch(() => undefined);
await Promise.allSettled([redis.quit(), ch.close()]);
process.exit(0);
