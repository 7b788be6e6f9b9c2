/**
 * The ceiling: a bare kafkajs consumer (eachBatch, JSON.parse of every value, nothing
 * else) over the pre-produced topic, with the same fetch settings the ingest worker
 * uses. Run as its own process (bench/scenarios/ceiling.ts) so that it has a core to
 * itself, as an ingest worker does.
 *
 * env: BENCH_TOPIC, BENCH_GROUP, BENCH_EXPECTED, BENCH_TIMEOUT_MS,
 *      BENCH_MAX_BYTES_PER_PARTITION (1 MiB), BENCH_CONCURRENCY (4)
 */
import { Kafka, logLevel } from 'kafkajs';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const topic = env('BENCH_TOPIC');
const expected = Number(env('BENCH_EXPECTED'));
const timeoutMs = Number(env('BENCH_TIMEOUT_MS', '180000'));
const send = (m: unknown) => process.send?.(m);

const kafka = new Kafka({ clientId: 'livetally-bench-ceiling', brokers: env('KAFKA_BROKERS', '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: env('BENCH_GROUP'), maxBytesPerPartition: Number(env('BENCH_MAX_BYTES_PER_PARTITION', '1048576')) });

let consumed = 0;
let firstAt = 0;
let firstCount = 0;
let lastAt = 0;
let batches = 0;
let parseErrors = 0;
let finish!: (reason: string) => void;
const finished = new Promise<string>((r) => (finish = r));

await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
const startedAt = performance.now();
await consumer.run({
  partitionsConsumedConcurrently: Number(env('BENCH_CONCURRENCY', '4')),
  eachBatch: async ({ batch }) => {
    for (const m of batch.messages) {
      try {
        JSON.parse(m.value!.toString('utf8'));
      } catch {
        parseErrors++;
      }
    }
    consumed += batch.messages.length;
    batches++;
    const now = performance.now();
    if (firstAt === 0) {
      firstAt = now;
      firstCount = consumed;
    }
    lastAt = now;
    if (consumed >= expected) finish('complete');
  },
});
const progress = setInterval(() => send({ type: 'progress', consumed }), 1000);
const timer = setTimeout(() => finish('timeout'), timeoutMs);
const reason = await finished;
clearInterval(progress);
clearTimeout(timer);
const seconds = (lastAt - firstAt) / 1000;
send({
  type: 'result',
  reason,
  consumed,
  batches,
  parseErrors,
  firstBatchAfterS: (firstAt - startedAt) / 1000,
  seconds,
  eventsPerSec: seconds > 0 ? (consumed - firstCount) / seconds : NaN,
});
await consumer.disconnect().catch(() => undefined);
process.exit(0);
