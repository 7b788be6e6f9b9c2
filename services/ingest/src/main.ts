import { Redis } from 'ioredis';
import { loadConfigOrExit } from '@livetally/config';
import { EventDeduplicator, RedisCounterStore } from '@livetally/counters';
import { EventHistory, createHistoryClient, migrate } from '@livetally/history';
import { createKafka } from '@livetally/kafka';
import { createLogger, safeUrl } from '@livetally/logging';
import { parseIngestConfig } from './config';
import { DeadLetterPublisher } from './dead-letters';
import { startOpsServer } from './http';
import { createIngestMetrics } from './metrics';
import { IngestWorker } from './worker';

const config = loadConfigOrExit(() => parseIngestConfig(process.env));
const logger = createLogger({ service: 'ingest', level: config.logLevel });
const metrics = createIngestMetrics();

const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true });
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
const clickhouse = createHistoryClient(config.clickhouse);
const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers, logger });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = kafka.consumer({ groupId: config.kafka.groupId, maxBytesPerPartition: config.kafka.maxBytesPerPartition, sessionTimeout: config.kafka.sessionTimeoutMs, heartbeatInterval: config.kafka.heartbeatMs });

const counters = new RedisCounterStore(redis, {
  prefix: config.redis.keyPrefix,
  group: config.kafka.groupId,
  observer: { onApply: (ms) => metrics.redisApplySeconds.observe(ms / 1000) },
});
const history = new EventHistory(clickhouse, { onInsert: (ms) => metrics.clickhouseInsertSeconds.observe(ms / 1000) });
const duplicates = new EventDeduplicator(redis, { prefix: config.redis.keyPrefix, windowSeconds: config.dedup.windowSeconds, bucketsPerHour: config.dedup.bucketsPerHour });
const deadLetters = new DeadLetterPublisher(producer, config.kafka.dlqTopic);

const worker = new IngestWorker({
  consumer,
  topic: config.kafka.topic,
  logger,
  retryMaxMs: config.retryMaxMs,
  deps: {
    counters,
    duplicates,
    history,
    deadLetters: {
      async publish(letters) {
        await deadLetters.publish(letters);
        for (const l of letters) metrics.deadLetters.inc({ reason: l.errors[0]?.reason ?? 'unknown' });
        logger.warn({ count: letters.length, offsets: letters.map((l) => `${l.partition}@${l.offset}`) }, 'dead-lettered invalid events');
      },
    },
    now: Date.now,
    logger,
  },
  hooks: {
    onOutcome(outcome, seconds) {
      metrics.batchSeconds.observe(seconds);
      if (outcome.kind === 'processed') {
        metrics.events.inc({ outcome: 'counted' }, outcome.counted);
        metrics.events.inc({ outcome: 'dead_letter' }, outcome.deadLettered);
        metrics.events.inc({ outcome: 'duplicate' }, outcome.duplicates);
      }
    },
    onRetry: () => metrics.retries.inc(),
    onLag: (partition, lag) => metrics.lag.set({ partition: String(partition) }, lag),
    onReadyChange: (ready) => metrics.ready.set(ready ? 1 : 0),
  },
});

let stopping: Promise<void> | null = null;
function stop(reason: string): Promise<void> {
  stopping ??= (async () => {
    logger.info({ reason }, 'stopping');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // Disconnecting the consumer waits for the running batch and commits resolved offsets.
    await consumer.disconnect().catch((err) => logger.warn({ err }, 'consumer disconnect failed'));
    await producer.disconnect().catch(() => undefined);
    await clickhouse.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    ops?.close();
    logger.info('stopped');
  })();
  return stopping;
}

process.on('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));
process.on('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));

logger.info({ brokers: config.kafka.brokers, redis: safeUrl(config.redis.url), clickhouse: safeUrl(config.clickhouse.url), group: config.kafka.groupId }, 'starting ingest');
const ops = await startOpsServer({ ...config.http, registry: metrics.registry, isReady: () => worker.isReady() && stopping === null });
await redis.connect();
const applied = await migrate(clickhouse);
if (applied.length > 0) logger.info({ versions: applied }, 'applied ClickHouse migrations');
await producer.connect();
await worker.start();
logger.info({ metrics: `http://${config.http.host}:${ops.address() && (ops.address() as { port: number }).port}/metrics` }, 'ingest running');
