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
import { bareSettings, measureBare } from './bare-measure';

const settings = bareSettings();
const kafka = new Kafka({ clientId: 'livetally-bench-ceiling', brokers: settings.brokers, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: settings.group, maxBytesPerPartition: settings.maxBytesPerPartition });

await consumer.connect();
await consumer.subscribe({ topics: [settings.topic], fromBeginning: true });
await measureBare((eachBatch) =>
  consumer.run({
    partitionsConsumedConcurrently: settings.concurrency,
    eachBatch: async ({ batch }) => eachBatch(batch.messages),
  }),
);
await consumer.disconnect().catch(() => undefined);
process.exit(0);
