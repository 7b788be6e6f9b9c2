import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '@livetally/logging';
import { processPartitionBatch, type BatchDeps } from './batch-processor';
import type { BatchOutcome } from './outcomes';

export interface WorkerHooks {
  onOutcome?(outcome: BatchOutcome, seconds: number, partition: number): void;
  onRetry?(err: Error, attempt: number): void;
  onLag?(partition: number, lag: number): void;
  onReadyChange?(ready: boolean): void;
}

export interface WorkerOptions {
  consumer: Consumer;
  topic: string;
  deps: BatchDeps;
  logger: Logger;
  retryMaxMs: number;
  /** Partition batches processed at once (kafkajs partitionsConsumedConcurrently); default 12. */
  partitionsConcurrently?: number;
  /** Cheap check that both stores answer (Redis PING, ClickHouse /ping); rejects while one does not. */
  probeStores?: () => Promise<void>;
  /** How often probeStores runs; default 1000 ms. */
  probeIntervalMs?: number;
  /** How long the consumer may keep crashing without rejoining the group before giving up; default 5 min. */
  maxCrashedMs?: number;
  /** The consumer cannot be recovered: the process should exit non-zero so a supervisor restarts it. */
  onFatal?(err: Error): void;
  hooks?: WorkerHooks;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with full jitter, capped. */
export function backoffMs(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs the consumer with manual offset resolution: an offset is resolved only after
 * both stores hold its batch. While a store is down (the probe says so, or a batch
 * fails) batches are held and retried with backoff, heartbeating so the group keeps
 * the partition; the fetch loop takes no new batch meanwhile and the worker reports
 * not ready. A crashed consumer is restarted (kafkajs does it for retriable errors,
 * this class for the rest); if it has not rejoined within maxCrashedMs, onFatal is called.
 */
export class IngestWorker {
  private joined = false;
  private storesUp = true;
  private readonly failing = new Set<number>();
  private ready = false;
  private stopped = false;
  private crashes = 0;
  private crashedSince: number | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private recoverTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerOptions) {
    const { consumer, logger } = options;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.crashes = 0;
      this.crashedSince = undefined;
      this.update({ joined: true });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.update({ joined: false });
      if (this.stopped) return;
      logger.error({ err: payload.error, restart: payload.restart, crashes: this.crashes + 1 }, 'kafka consumer crashed');
      if (!this.crashed(payload.error) && !payload.restart) this.scheduleRecovery();
    });
  }

  /** Ready = in the group, stores answering the probe, and no batch failing. */
  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    if (this.options.probeStores && !this.probeTimer) void this.probe();
    await this.run();
  }

  /** Stops probing and recovery, then disconnects (waits for the running batch, commits resolved offsets). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.probeTimer);
    clearTimeout(this.recoverTimer);
    this.update({ joined: false });
    await this.options.consumer.disconnect();
  }

  private async run(): Promise<void> {
    const { consumer, topic } = this.options;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      autoCommitInterval: 1000,
      partitionsConsumedConcurrently: this.options.partitionsConcurrently ?? 12,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** kafkajs gave up on the consumer (a non-retriable crash): disconnect and run it again. */
  private scheduleRecovery(): void {
    if (this.recoverTimer || this.stopped) return;
    const wait = backoffMs(this.crashes, this.options.retryMaxMs);
    this.recoverTimer = setTimeout(async () => {
      this.recoverTimer = undefined;
      if (this.stopped) return;
      try {
        await this.options.consumer.disconnect().catch(() => undefined);
        await this.run();
      } catch (err) {
        this.options.logger.error({ err, crashes: this.crashes + 1 }, 'kafka consumer restart failed');
        if (!this.crashed(err as Error)) this.scheduleRecovery();
      }
    }, wait);
  }

  /** Counts a crash; true (and onFatal called) when the consumer has been down too long. */
  private crashed(err: Error): boolean {
    this.crashes++;
    this.crashedSince ??= Date.now();
    if (Date.now() - this.crashedSince <= (this.options.maxCrashedMs ?? 300_000)) return false;
    this.options.onFatal?.(err);
    return true;
  }

  private async probe(): Promise<void> {
    const up = await this.options.probeStores!().then(
      () => true,
      (err: Error) => {
        if (this.storesUp) this.options.logger.warn({ err: err.message }, 'store health probe failed; holding batches');
        return false;
      },
    );
    if (up && !this.storesUp) this.options.logger.info('stores answer again; resuming');
    this.update({ storesUp: up });
    if (!this.stopped) this.probeTimer = setTimeout(() => void this.probe(), this.options.probeIntervalMs ?? 1000);
  }

  private update(change: { joined?: boolean; storesUp?: boolean }): void {
    this.joined = change.joined ?? this.joined;
    this.storesUp = change.storesUp ?? this.storesUp;
    const ready = this.joined && this.storesUp && this.failing.size === 0 && !this.stopped;
    if (this.ready !== ready) {
      this.ready = ready;
      this.options.hooks?.onReadyChange?.(ready);
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { deps, hooks, logger, retryMaxMs } = this.options;
    const log = logger.child({ partition: batch.partition, firstOffset: batch.firstOffset() });
    hooks?.onLag?.(batch.partition, Number(batch.offsetLag()));
    const messages = batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value }));
    let attempt = 0;
    try {
      // Leaving this loop without resolving (stopping, rebalanced, seeked) is safe:
      // unresolved offsets are fetched again, by this worker or the partition's next owner.
      while (isRunning() && !isStale()) {
        if (!this.storesUp) {
          // A store is known to be down: hold the batch without hammering it.
          await this.pause(500, payload);
          continue;
        }
        const started = performance.now();
        let outcome: BatchOutcome;
        try {
          outcome = await processPartitionBatch({ ...deps, logger: log }, { topic: batch.topic, partition: batch.partition, messages });
        } catch (err) {
          this.failing.add(batch.partition);
          this.update({});
          hooks?.onRetry?.(err as Error, ++attempt);
          const wait = backoffMs(attempt, retryMaxMs);
          log.warn({ err, attempt, retryInMs: wait }, 'batch failed; retrying');
          await this.pause(wait, payload);
          continue;
        }
        hooks?.onOutcome?.(outcome, (performance.now() - started) / 1000, batch.partition);
        if (outcome.kind === 'deferred') {
          // Unresolved offsets are fetched again; a short pause avoids a hot loop.
          await this.pause(200, payload);
        } else {
          resolveOffset(outcome.lastOffset);
          await commitOffsetsIfNecessary();
        }
        await payload.heartbeat();
        return;
      }
    } finally {
      if (this.failing.delete(batch.partition)) this.update({});
    }
  }

  /**
   * Waits, heartbeating so the group keeps the partition, and returns early when the
   * consumer stops. A heartbeat error (rebalance, broker gone) is thrown on so that
   * kafkajs rejoins or retries; nothing was resolved, so nothing is lost.
   */
  private async pause(ms: number, { heartbeat, isRunning }: EachBatchPayload): Promise<void> {
    const until = Date.now() + ms;
    while (isRunning() && Date.now() < until) {
      await sleep(Math.min(250, until - Date.now()));
      await heartbeat();
    }
  }
}
