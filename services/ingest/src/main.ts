import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { loadConfigOrExit } from '@livetally/config';
import { EventDeduplicator, LiveStateStore, RedisCounterStore, adoptGroupOffsets } from '@livetally/live-state';
import { CampaignStore } from '@livetally/campaigns';
import { EventHistory, FencedEventWriter, createHistoryClient, migrate } from '@livetally/history';
import { createKafka } from '@livetally/kafka';
import { createLogger, safeUrl } from '@livetally/logging';
import { parseIngestConfig } from './config';
import { DeadLetterPublisher } from './dead-letters';
import { startOpsServer } from './http';
import { createIngestMetrics } from './metrics';
import { backoffMs } from './backoff';
import { HistoryFlusher } from './history-flusher';
import { PartitionOwners } from './partition-owners';
import { IngestWorker } from './worker';
import { CampaignCatalogue } from './campaign-catalogue';
import { LiveStateGate } from './live-state-gate';
import { RebuildBusyError, rebuildLiveState } from './recovery/rebuild';
import { checkEvictionPolicy } from './redis-eviction';
import { rebuildMeasures } from './recovery/wiring';

const config = loadConfigOrExit(() => parseIngestConfig(process.env));
const logger = createLogger({ service: 'ingest', level: config.logLevel });
const metrics = createIngestMetrics();

// While Redis is unreachable every command fails at once (no offline queue; in-flight
// commands are rejected on disconnect, not resent) and the batch retry owns retrying;
// the connection itself is re-established forever in the background.
const redis = new Redis(config.redis.url, {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 5_000,
  connectTimeout: 3_000,
  retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
});
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
const clickhouse = createHistoryClient({ ...config.clickhouse, requestTimeoutMs: 15_000 });
const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers, logger });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = kafka.consumer({
  groupId: config.kafka.groupId,
  maxBytesPerPartition: config.kafka.maxBytesPerPartition,
  maxBytes: config.kafka.maxBytes,
  minBytes: config.kafka.minBytes,
  maxWaitTimeInMs: config.kafka.maxWaitTimeInMs,
  sessionTimeout: config.kafka.sessionTimeoutMs,
  heartbeatInterval: config.kafka.heartbeatMs,
});

const counters = new RedisCounterStore(redis, {
  prefix: config.redis.keyPrefix,
  observer: { onApply: (ms) => metrics.redisApplySeconds.observe(ms / 1000) },
});
const history = new EventHistory(clickhouse);
const writer = new FencedEventWriter(clickhouse, {
  observer: { onInsert: (ms) => metrics.clickhouseInsertSeconds.observe(ms / 1000) },
});
const admin = kafka.admin();
// Named in lt_partition_owners so operators can tell which process took a partition.
const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
const owners = new PartitionOwners({
  topic: config.kafka.topic,
  owner,
  counters,
  fence: writer,
  async logStart(topic, partition) {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.find((o) => o.partition === partition)?.low ?? '0';
  },
  logger,
});
let worker: IngestWorker;
const flusher = new HistoryFlusher(
  {
    writer,
    topic: config.kafka.topic,
    onDurable: (partition, gen, offset) => worker.onDurable(partition, gen, offset),
    logger,
  },
  { ...config.flush, retryMaxMs: config.retryMaxMs },
  {
    onFlush: (rows) => {
      metrics.flushRows.observe(rows);
      worker?.refreshReadiness();
    },
    onFlushFailed: () => worker?.refreshReadiness(),
  },
);
const duplicates = new EventDeduplicator(redis, {
  prefix: config.redis.keyPrefix,
  windowSeconds: config.dedup.windowSeconds,
  bucketsPerHour: config.dedup.bucketsPerHour,
});
const deadLetters = new DeadLetterPublisher({
  producer,
  admin,
  topic: config.kafka.dlqTopic,
  maxRequestBytes: config.deadLetters.maxRequestBytes,
  logger,
});
// No polling: a batch planned with an outdated catalogue is refused by the apply
// script, and the worker reloads the catalogue then.
const campaignStore = new CampaignStore(redis, clickhouse, config.redis.keyPrefix);
const catalogue = new CampaignCatalogue(campaignStore);
// Batches wait while Redis holds no live state (lost data) or a rebuild runs; a fresh
// deployment is set up by the first batch. See live-state-gate.ts and recovery/rebuild.ts.
const liveState = new LiveStateStore(redis, { prefix: config.redis.keyPrefix });
const gate = new LiveStateGate({
  live: liveState,
  history,
  logger,
  autoRebuild: config.autoRebuild.enabled
    ? async () => {
        const rebuildClient = createHistoryClient({ ...config.clickhouse, requestTimeoutMs: 60_000 });
        try {
          const result = await rebuildLiveState({
            live: liveState,
            history: new EventHistory(rebuildClient),
            dedup: { restore: (keys) => duplicates.restore(keys), windowSeconds: config.dedup.windowSeconds },
            measures: rebuildMeasures(redis, rebuildClient, { prefix: config.redis.keyPrefix }),
            topic: config.kafka.topic,
            graceMs: config.autoRebuild.graceMs,
            lockTtlMs: 60_000,
            onlyIfMissing: true,
            progress: (message) => logger.info({ step: 'rebuild' }, message),
          });
          logger.info(
            {
              scopes: result.scopes,
              partitions: result.partitions,
              fingerprints: result.fingerprints,
              outcome: result.outcome,
            },
            'automatic rebuild finished',
          );
        } catch (err) {
          if (!(err instanceof RebuildBusyError)) throw err;
          logger.info('another process is rebuilding the live state; waiting for it');
        } finally {
          await rebuildClient.close().catch(() => undefined);
        }
      }
    : undefined,
});

worker = new IngestWorker({
  consumer,
  topic: config.kafka.topic,
  owners,
  flusher,
  durableOffsets: counters,
  logger,
  retryMaxMs: config.retryMaxMs,
  partitionsConcurrently: config.kafka.partitionsConcurrently,
  probeStores,
  onFatal: (err) => void stop(`kafka consumer could not recover: ${err.message}`).then(() => process.exit(1)),
  deps: {
    counters,
    campaigns: {
      get: () => catalogue.get(),
      invalidate: () => catalogue.invalidate(),
      versionKey: campaignStore.keys.version,
    },
    duplicates,
    liveState: gate,
    deadLetters: {
      async publish(letters) {
        await deadLetters.publish(letters);
        for (const l of letters) metrics.deadLetters.inc({ reason: l.errors[0]?.reason ?? 'unknown' });
        logger.warn(
          { count: letters.length, offsets: letters.map((l) => `${l.partition}@${l.offset}`) },
          'dead-lettered invalid events',
        );
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
let ops: Server | undefined;
function stop(reason: string): Promise<void> {
  stopping ??= (async () => {
    logger.info({ reason }, 'stopping');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // Disconnecting the consumer waits for the running batch and commits resolved offsets.
    await worker.stop().catch((err) => logger.warn({ err }, 'consumer disconnect failed'));
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await clickhouse.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    ops?.close();
    logger.info('stopped');
  })();
  return stopping;
}

/** Both stores answer within 3 s: Redis PING, ClickHouse /ping. */
async function probeStores(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error('store probe timed out after 3 s')), 3_000)),
  );
  const ping = async () => {
    await redis.ping();
    const ch = await clickhouse.ping();
    if (!ch.success) throw ch.error;
  };
  try {
    await Promise.race([ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

process.on('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));
process.on('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));

logger.info(
  {
    brokers: config.kafka.brokers,
    redis: safeUrl(config.redis.url),
    clickhouse: safeUrl(config.clickhouse.url),
    group: config.kafka.groupId,
  },
  'starting ingest',
);
ops = await startOpsServer({
  ...config.http,
  registry: metrics.registry,
  logger,
  isReady: () => worker.isReady() && stopping === null,
});
redis.connect().catch(() => undefined); // ioredis keeps reconnecting (retryStrategy)
// Start-up waits (not ready) for the stores rather than failing while they are down.
for (let attempt = 1; stopping === null; attempt++) {
  try {
    await probeStores();
    const evictionProblem = await checkEvictionPolicy(redis);
    if (evictionProblem) {
      logger.fatal({ setting: 'maxmemory-policy' }, evictionProblem);
      await stop('unsafe Redis eviction policy');
      process.exit(1);
    }
    const applied = await migrate(clickhouse);
    if (applied.length > 0) logger.info({ versions: applied }, 'applied ClickHouse migrations');
    const adopted = await adoptGroupOffsets(redis, {
      prefix: config.redis.keyPrefix,
      group: config.kafka.groupId,
      topic: config.kafka.topic,
    });
    if (adopted > 0)
      logger.info(
        { partitions: adopted, group: config.kafka.groupId },
        "adopted the previous release's per-group applied offsets as the topic's",
      );
    break;
  } catch (err) {
    const wait = backoffMs(attempt, config.retryMaxMs);
    logger.warn({ err: (err as Error).message, retryInMs: wait }, 'waiting for Redis and ClickHouse');
    await new Promise((r) => setTimeout(r, wait));
  }
}
if (stopping === null) {
  await producer.connect();
  await admin.connect();
  await worker.start();
  logger.info(
    { metrics: `http://${config.http.host}:${(ops.address() as { port: number }).port}/metrics` },
    'ingest running',
  );
}
