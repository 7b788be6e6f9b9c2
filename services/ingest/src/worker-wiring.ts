import { CampaignStore } from '@livetally/campaigns';
import { EventHistory, FencedEventWriter } from '@livetally/history';
import { EventDeduplicator, LiveStateStore, RedisCounterStore } from '@livetally/live-state';
import type { Logger } from '@livetally/logging';
import { automaticRebuild } from './auto-rebuild';
import { CampaignCatalogue } from './campaign-catalogue';
import { probeStores, redisBeforeClusterLayout, type IngestClients } from './clients';
import type { IngestConfig } from './config';
import { DeadLetterPublisher } from './dead-letters';
import { HistoryFlusher } from './history-flusher';
import { LiveStateGate } from './live-state-gate';
import type { IngestMetrics } from './metrics';
import { PartitionOwners } from './partition-owners';
import { IngestWorker } from './worker';

export interface WorkerWiringOptions {
  logger: Logger;
  /** Named in lt_partition_owners so operators can tell which process took a partition. */
  owner: string;
  /** The clock batches judge event times by. */
  now: () => number;
  /** The consumer cannot be recovered. */
  onFatal: (err: Error) => void;
}

/** The worker and everything it uses, on the given connections: the fenced write path of ADR 0001. */
export function createIngestWorker(
  config: IngestConfig,
  clients: IngestClients,
  metrics: IngestMetrics,
  options: WorkerWiringOptions,
): IngestWorker {
  const { redis, clickhouse, consumer, producer, admin } = clients;
  const { logger } = options;
  const prefix = config.redis.keyPrefix;
  const topic = config.kafka.topic;
  const counters = new RedisCounterStore(redis, {
    prefix,
    observer: { onApply: (ms) => metrics.redisApplySeconds.observe(ms / 1000) },
  });
  const writer = new FencedEventWriter(clickhouse, {
    observer: { onInsert: (ms) => metrics.clickhouseInsertSeconds.observe(ms / 1000) },
  });
  const owners = new PartitionOwners({
    topic,
    owner: options.owner,
    counters,
    fence: writer,
    async logStart(t, partition) {
      const offsets = await admin.fetchTopicOffsets(t);
      return offsets.find((o) => o.partition === partition)?.low ?? '0';
    },
    logger,
  });
  let worker: IngestWorker | undefined;
  const flusher = new HistoryFlusher(
    {
      writer,
      topic,
      onDurable: (partition, gen, offset) => worker!.onDurable(partition, gen, offset),
      logger,
    },
    { ...config.flush, retryMaxMs: config.retryMaxMs },
    {
      onFlush: (rows) => {
        metrics.flushRows.observe(rows);
        worker?.refreshReadiness();
      },
      onFlushFailed: () => {
        metrics.clickhouseInsertFailures.inc();
        worker?.refreshReadiness();
      },
    },
  );
  const duplicates = new EventDeduplicator(redis, {
    prefix,
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
  const campaignStore = new CampaignStore(redisBeforeClusterLayout(redis), clickhouse, prefix);
  const catalogue = new CampaignCatalogue(campaignStore);
  // Batches wait while Redis holds no live state (lost data) or a rebuild runs; a fresh
  // deployment is set up by the first batch. See live-state-gate.ts and recovery/rebuild.ts.
  const live = new LiveStateStore(redis, { prefix });
  const gate = new LiveStateGate({
    live,
    history: new EventHistory(clickhouse),
    logger,
    autoRebuild: config.autoRebuild.enabled
      ? automaticRebuild(config, { redis: redisBeforeClusterLayout(redis), live, duplicates, logger })
      : undefined,
  });

  worker = new IngestWorker({
    consumer,
    topic,
    owners,
    flusher,
    durableOffsets: counters,
    logger,
    retryMaxMs: config.retryMaxMs,
    partitionsConcurrently: config.kafka.partitionsConcurrently,
    probeStores: () => probeStores(clients),
    positions: {
      async committed(t) {
        const [group] = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [t] });
        return new Map((group?.partitions ?? []).map((c) => [c.partition, c.offset]));
      },
      async durable(t) {
        const held = new Map<number, string>();
        for (const [p, hash] of await counters.offsetFields(t)) {
          const durable = hash[`durable:${p}`];
          if (durable !== undefined) held.set(p, durable);
        }
        return held;
      },
    },
    onFatal: (err) => options.onFatal(new Error(`kafka consumer could not recover: ${err.message}`, { cause: err })),
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
      now: options.now,
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
  return worker;
}
