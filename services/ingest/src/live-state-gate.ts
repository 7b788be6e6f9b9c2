import { LiveStateNotReadyError, type LiveStatus, type MarkOutcome } from '@livetally/live-state';
import type { Logger } from '@livetally/logging';

export interface LiveStateGateOptions {
  live: {
    status(topic: string, partition: number): Promise<LiveStatus>;
    markReady(topic: string, partition: number, fresh: boolean): Promise<MarkOutcome>;
  };
  history: { hasRows(topic: string, partition: number): Promise<boolean> };
  logger: Logger;
  /**
   * INGEST_AUTO_REBUILD: run the rebuild from this worker when Redis is empty but
   * ClickHouse is not. Only one process wins the rebuild lock; the others keep waiting.
   */
  autoRebuild?: () => Promise<unknown>;
  /** How long a positive check at the top of a batch is reused (the pre-insert check never is). */
  cacheMs?: number;
  /** Minimum interval between "run npm run rebuild" errors in the log. */
  hintEveryMs?: number;
  now?: () => number;
}

/**
 * Keeps batches away from a Redis that holds no live state for their partition (ADR 0003:
 * markers per partition, so a master that lost its data stops exactly its partitions).
 * Checked at the top of a batch (where a fresh deployment is also set up, per partition);
 * the Redis scripts check the marker again atomically. Not ready means LiveStateNotReadyError: the worker retries the
 * batch with backoff, reports not ready, and resolves nothing meanwhile.
 */
export class LiveStateGate {
  /** Per partition tag (`<topic>/<p>`): until when a positive check is reused. */
  private readonly readyUntil = new Map<string, number>();
  private lastHint = -Infinity;
  private rebuilding: Promise<unknown> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: LiveStateGateOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Returns when Redis holds live state for the partition; sets it up on a fresh deployment. */
  async ensureReady(topic: string, partition: number): Promise<void> {
    const tag = `${topic}/${partition}`;
    if (this.now() < (this.readyUntil.get(tag) ?? 0)) return;
    const { live, history, logger } = this.options;
    const status = await live.status(topic, partition);
    if (status === 'rebuilding') throw new LiveStateNotReadyError('rebuilding');
    if (status === 'ready') return this.confirmed(tag);

    let outcome = await live.markReady(topic, partition, false);
    if (outcome === 'missing' && !(await history.hasRows(topic, partition))) {
      // Redis and ClickHouse both hold nothing for this partition: a fresh deployment (or a new partition).
      outcome = await live.markReady(topic, partition, true);
    }
    switch (outcome) {
      case 'ready':
        return this.confirmed(tag);
      case 'initialized':
        logger.info(
          { topic, partition },
          'fresh deployment: Redis and ClickHouse hold nothing for this partition; live state initialised',
        );
        return this.confirmed(tag);
      case 'adopted':
        logger.warn(
          { topic, partition },
          'Redis holds applied offsets but no live-state marker (state from before the marker existed); adopted it as live state. Run `npm run reconcile` to verify it',
        );
        return this.confirmed(tag);
      case 'rebuilding':
        throw new LiveStateNotReadyError('rebuilding');
      case 'missing':
        this.noStateButHistory(topic);
        throw new LiveStateNotReadyError(
          'missing',
          `Redis holds no live state for partition ${partition} but ClickHouse holds events of ${topic} there: run \`npm run rebuild\`${this.options.autoRebuild ? ' (auto rebuild is on)' : ' (or set INGEST_AUTO_REBUILD=true)'}`,
        );
    }
  }

  private confirmed(tag: string): void {
    this.readyUntil.set(tag, this.now() + (this.options.cacheMs ?? 1_000));
  }

  private noStateButHistory(topic: string): void {
    const { logger, autoRebuild } = this.options;
    const now = this.now();
    if (autoRebuild && !this.rebuilding) {
      logger.warn(
        { topic },
        'Redis holds no live state but ClickHouse holds events: starting a rebuild from ClickHouse (INGEST_AUTO_REBUILD)',
      );
      this.rebuilding = autoRebuild()
        .catch((err: unknown) => logger.error({ err }, 'automatic rebuild failed; workers keep waiting'))
        .finally(() => {
          this.rebuilding = null;
        });
      this.lastHint = now;
      return;
    }
    if (now - this.lastHint < (this.options.hintEveryMs ?? 30_000)) return;
    this.lastHint = now;
    if (autoRebuild) logger.warn({ topic }, 'waiting for the running rebuild of the live state');
    else
      logger.error(
        { topic },
        'Redis holds no live state (lost?) but ClickHouse holds events of this topic: ingest waits. Run `npm run rebuild` (same environment) to restore it from ClickHouse, or start workers with INGEST_AUTO_REBUILD=true',
      );
  }
}
