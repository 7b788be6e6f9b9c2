/**
 * The ceiling with the other client: bench/workers/bare-consumer.ts written against
 * @confluentinc/kafka-javascript (librdkafka underneath, KafkaJS-compatible API) instead
 * of kafkajs — eachBatch, JSON.parse of every value, nothing else, the same topic and
 * fetch settings (maxBytesPerPartition, partitionsConsumedConcurrently), the same
 * messages to the parent, so bench/scenarios/ceiling.ts can run both side by side.
 *
 * The package is optional (it builds librdkafka from source when installed): it is
 * loaded dynamically, and this worker exits with a `{ type: 'unavailable' }` message
 * when it cannot be loaded.
 *
 * env: as bare-consumer.ts, plus BENCH_CONFLUENT_MAX_BATCH: the library's
 *      `js.consumer.max.batch.size` (messages per eachBatch call; library default 32,
 *      -1 = everything fetched for the partition).
 */
interface ConfluentBatch {
  batch: { messages: { value: Buffer | null }[] };
}
interface ConfluentConsumer {
  connect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(c: { partitionsConsumedConcurrently: number; eachBatch: (p: ConfluentBatch) => Promise<void> }): Promise<void>;
  disconnect(): Promise<void>;
}
interface ConfluentKafkaJS {
  Kafka: new (c: { kafkaJS: Record<string, unknown> }) => { consumer(c: Record<string, unknown>): ConfluentConsumer };
  logLevel: { NOTHING: number };
}

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const send = (m: unknown) => process.send?.(m);

const PACKAGE = '@confluentinc/kafka-javascript';
let KafkaJS: ConfluentKafkaJS;
let librdkafkaVersion = 'unknown';
let packageVersion = 'unknown';
try {
  const mod = (await import(PACKAGE)) as { KafkaJS?: ConfluentKafkaJS; default?: { KafkaJS: ConfluentKafkaJS; librdkafkaVersion?: string } };
  KafkaJS = (mod.KafkaJS ?? mod.default?.KafkaJS)!;
  librdkafkaVersion = mod.default?.librdkafkaVersion ?? 'unknown';
  const { createRequire } = await import('node:module');
  packageVersion = (createRequire(import.meta.url)(`${PACKAGE}/package.json`) as { version: string }).version;
} catch (err) {
  const message = { type: 'unavailable', reason: `${PACKAGE} cannot be loaded: ${(err as Error).message.split('\n')[0]}` };
  await new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
  process.exit(0);
}

const topic = env('BENCH_TOPIC');
const expected = Number(env('BENCH_EXPECTED'));
const timeoutMs = Number(env('BENCH_TIMEOUT_MS', '180000'));
const maxBatch = Number(env('BENCH_CONFLUENT_MAX_BATCH', '32'));

const kafka = new KafkaJS.Kafka({
  kafkaJS: { clientId: 'livetally-bench-ceiling-confluent', brokers: env('KAFKA_BROKERS', '127.0.0.1:9092').split(','), logLevel: KafkaJS.logLevel.NOTHING },
});
const consumer = kafka.consumer({
  kafkaJS: { groupId: env('BENCH_GROUP'), fromBeginning: true, maxBytesPerPartition: Number(env('BENCH_MAX_BYTES_PER_PARTITION', '1048576')) },
  'js.consumer.max.batch.size': maxBatch,
});

let consumed = 0;
let firstAt = 0;
let firstCount = 0;
let lastAt = 0;
let batches = 0;
let parseErrors = 0;
let finish!: (reason: string) => void;
const finished = new Promise<string>((r) => (finish = r));

await consumer.connect();
await consumer.subscribe({ topics: [topic] });
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
  client: { package: PACKAGE, version: packageVersion, librdkafka: librdkafkaVersion, maxBatch },
});
await consumer.disconnect().catch(() => undefined);
process.exit(0);
