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
import { bareSettings, env, measureBare } from './bare-measure';

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

const PACKAGE = '@confluentinc/kafka-javascript';
let KafkaJS: ConfluentKafkaJS;
let librdkafkaVersion = 'unknown';
let packageVersion = 'unknown';
try {
  const mod = (await import(PACKAGE)) as {
    KafkaJS?: ConfluentKafkaJS;
    default?: { KafkaJS: ConfluentKafkaJS; librdkafkaVersion?: string };
  };
  KafkaJS = (mod.KafkaJS ?? mod.default?.KafkaJS)!;
  librdkafkaVersion = mod.default?.librdkafkaVersion ?? 'unknown';
  const { createRequire } = await import('node:module');
  packageVersion = (createRequire(import.meta.url)(`${PACKAGE}/package.json`) as { version: string }).version;
} catch (err) {
  const message = {
    type: 'unavailable',
    reason: `${PACKAGE} cannot be loaded: ${(err as Error).message.split('\n')[0]}`,
  };
  await new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
  process.exit(0);
}

const settings = bareSettings();
const maxBatch = Number(env('BENCH_CONFLUENT_MAX_BATCH', '32'));

const kafka = new KafkaJS.Kafka({
  kafkaJS: {
    clientId: 'livetally-bench-ceiling-confluent',
    brokers: settings.brokers,
    logLevel: KafkaJS.logLevel.NOTHING,
  },
});
const consumer = kafka.consumer({
  kafkaJS: { groupId: settings.group, fromBeginning: true, maxBytesPerPartition: settings.maxBytesPerPartition },
  'js.consumer.max.batch.size': maxBatch,
});

await consumer.connect();
await consumer.subscribe({ topics: [settings.topic] });
await measureBare(
  (eachBatch) =>
    consumer.run({
      partitionsConsumedConcurrently: settings.concurrency,
      eachBatch: async ({ batch }) => eachBatch(batch.messages),
    }),
  { package: PACKAGE, version: packageVersion, librdkafka: librdkafkaVersion, maxBatch },
);
await consumer.disconnect().catch(() => undefined);
process.exit(0);
