import type { Redis } from 'ioredis';
import type { EventDeduplicator, LiveStateStore } from '@livetally/live-state';
import { EventHistory, createHistoryClient } from '@livetally/history';
import type { Logger } from '@livetally/logging';
import type { IngestConfig } from './config';
import { RebuildBusyError, rebuildLiveState } from './recovery/rebuild';
import { rebuildMeasures } from './recovery/wiring';

/**
 * Redis empty but ClickHouse not (Redis lost its data): this worker rebuilds the live
 * state itself (INGEST_AUTO_REBUILD) instead of waiting for `npm run rebuild`. Another
 * process already rebuilding is waited for, not raced.
 */
export function automaticRebuild(
  config: IngestConfig,
  deps: { redis: Redis; live: LiveStateStore; duplicates: EventDeduplicator; logger: Logger },
): () => Promise<void> {
  const { redis, live, duplicates, logger } = deps;
  return async () => {
    const rebuildClient = createHistoryClient({ ...config.clickhouse, requestTimeoutMs: 60_000 });
    try {
      const result = await rebuildLiveState({
        live,
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
  };
}
