import { LiveStateNotReadyError, type LiveStatus, type MarkOutcome } from '@livetally/live-state';
import type { Logger } from '@livetally/logging';

export interface LiveStateGateOptions {
  live: {
    status(): Promise<LiveStatus>;
    markReady(topic: string, fresh: boolean): Promise<MarkOutcome>;
  };
  history: { hasRows(topic: string): Promise<boolean> };
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
 * Keeps batches away from a Redis that holds no live state. Checked at the top of a
 * batch (where a fresh deployment is also set up); the Redis scripts check the marker
 * again atomically. Not ready means LiveStateNotReadyError: the worker retries the
 * batch with backoff, reports not ready, and resolves nothing meanwhile.
 */
export class LiveStateGate {
  private readyUntil = 0;
  private lastHint = -Infinity;
  private rebuilding: Promise<unknown> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: LiveStateGateOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Returns when Redis holds live state for `topic`; sets it up on a fresh deployment. */
  async ensureReady(topic: string): Promise<void> {
    if (this.now() < this.readyUntil) return;
    const { live, history, logger } = this.options;
    const status = await live.status();
    if (status === 'rebuilding') throw new LiveStateNotReadyError('rebuilding');
    if (status === 'ready') return this.confirmed();

    let outcome = await live.markReady(topic, false);
    if (outcome === 'missing' && !(await history.hasRows(topic))) {
      // Redis and ClickHouse both hold nothing for this topic: a fresh deployment.
      outcome = await live.markReady(topic, true);
    }
    switch (outcome) {
      case 'ready':
        return this.confirmed();
      case 'initialized':
        logger.info(
          { topic },
          'fresh deployment: Redis and ClickHouse hold nothing for this topic; live state initialised',
        );
        return this.confirmed();
      case 'adopted':
        logger.warn(
          { topic },
          'Redis holds applied offsets but no live-state marker (state from before the marker existed); adopted it as live state. Run `npm run reconcile` to verify it',
        );
        return this.confirmed();
      case 'rebuilding':
        throw new LiveStateNotReadyError('rebuilding');
      case 'missing':
        this.noStateButHistory(topic);
        throw new LiveStateNotReadyError(
          'missing',
          `Redis holds no live state but ClickHouse holds events of ${topic}: run \`npm run rebuild\`${this.options.autoRebuild ? ' (auto rebuild is on)' : ' (or set INGEST_AUTO_REBUILD=true)'}`,
        );
    }
  }

  private confirmed(): void {
    this.readyUntil = this.now() + (this.options.cacheMs ?? 1_000);
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
