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
  hooks?: WorkerHooks;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with full jitter, capped. */
export function backoffMs(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs the consumer with manual offset resolution: an offset is resolved only
 * after both stores hold its batch; while a store fails the batch is retried
 * (with heartbeats, so the group keeps the partition) and no new batch is taken.
 */
export class IngestWorker {
  private ready = false;

  constructor(private readonly options: WorkerOptions) {}

  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    const { consumer, topic } = this.options;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      autoCommitInterval: 1000,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.setReady(true);
  }

  private setReady(ready: boolean): void {
    if (this.ready !== ready) {
      this.ready = ready;
      this.options.hooks?.onReadyChange?.(ready);
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { deps, hooks, logger, retryMaxMs } = this.options;
    const log = logger.child({ partition: batch.partition, firstOffset: batch.firstOffset() });
    hooks?.onLag?.(batch.partition, Number(batch.offsetLag()));
    const messages = batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value }));
    for (let attempt = 1; isRunning() && !isStale(); attempt++) {
      const started = performance.now();
      try {
        const outcome = await processPartitionBatch({ ...deps, logger: log }, { topic: batch.topic, partition: batch.partition, messages });
        this.setReady(true);
        hooks?.onOutcome?.(outcome, (performance.now() - started) / 1000, batch.partition);
        if (outcome.kind === 'deferred') {
          // Unresolved offsets are fetched again; a short pause avoids a hot loop.
          await sleep(200);
        } else {
          resolveOffset(outcome.lastOffset);
          await commitOffsetsIfNecessary();
        }
        await heartbeat();
        return;
      } catch (err) {
        this.setReady(false);
        hooks?.onRetry?.(err as Error, attempt);
        const wait = backoffMs(attempt, retryMaxMs);
        log.warn({ err, attempt, retryInMs: wait }, 'batch failed; retrying');
        await sleep(wait);
        await heartbeat().catch(() => undefined);
      }
    }
  }
}
