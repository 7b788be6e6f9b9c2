import { randomUUID } from 'node:crypto';
import type { FencedRow } from '@livetally/history';
import type { Logger } from '@livetally/logging';
import { offsetAfter } from './batch-processor';
import { backoffMs } from './backoff';

const STOPPING_ATTEMPTS = 3;

/** Rows of one applied batch of one partition, and the offset through which that batch went. */
export interface PendingBatch {
  partition: number;
  gen: number;
  lastOffset: string;
  rows: FencedRow[];
}

export interface FlusherDeps {
  writer: {
    insert(rows: readonly FencedRow[], flushId: string): Promise<void>;
    settle(flushId: string): Promise<void>;
    storedOffsets(topic: string, partition: number, after: string): Promise<Set<string>>;
  };
  topic: string;
  /** Both stores hold `partition` through `offset`: mark it durable (fenced by `gen`) and commit. */
  onDurable(partition: number, gen: number, offset: string): Promise<void>;
  logger: Logger;
}

export interface FlusherOptions {
  /** Flush as soon as this many rows wait (INGEST_FLUSH_ROWS). */
  maxRows: number;
  /** Flush rows that waited this long (INGEST_FLUSH_MS). */
  maxWaitMs: number;
  /** Batches wait for room beyond this many buffered rows (INGEST_MAX_BUFFERED_ROWS). */
  maxBufferedRows: number;
  retryMaxMs: number;
}

export interface FlusherObserver {
  onFlush?(rows: number, durationMs: number): void;
  onFlushFailed?(err: unknown, attempt: number): void;
}

/**
 * ClickHouse gets few, large inserts: the rows of every partition this worker applied,
 * buffered until maxRows wait or the oldest waited maxWaitMs, written in one insert. A
 * failed insert is never retried blind: the flusher waits until ClickHouse no longer runs
 * it, asks which offsets it stored, and writes only the others. Only then are the
 * partitions' offsets durable (and committed).
 */
export class HistoryFlusher {
  private pending: PendingBatch[] = [];
  private bufferedRows = 0;
  private oldestAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  /** Per partition, the newest flushed batch whose durable mark Redis has not recorded yet. */
  private readonly owedMarks = new Map<number, PendingBatch>();
  private markFailures = 0;
  private markRetryTimer: NodeJS.Timeout | undefined;
  private roomWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly deps: FlusherDeps,
    private readonly options: FlusherOptions,
    private readonly observer: FlusherObserver = {},
  ) {}

  /** False while inserts fail (readiness). */
  isHealthy(): boolean {
    return this.failures === 0;
  }

  add(batch: PendingBatch): void {
    this.pending.push(batch);
    this.bufferedRows += batch.rows.length;
    this.oldestAt ??= performance.now();
    if (this.bufferedRows >= this.options.maxRows) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.options.maxWaitMs);
  }

  /** Forgets what was buffered for a partition this worker no longer owns: its new owner writes it. */
  drop(partition: number): void {
    this.owedMarks.delete(partition);
    this.pending = this.pending.filter((b) => b.partition !== partition);
    this.bufferedRows = this.count(this.pending);
    this.wakeIfRoom();
  }

  /** Resolves once the buffer has room for more (backpressure while ClickHouse is slow or down). */
  async waitForRoom(signal: { stillWanted(): boolean }): Promise<void> {
    while (this.bufferedRows >= this.options.maxBufferedRows && signal.stillWanted()) {
      this.kick();
      await new Promise<void>((resolve) => {
        this.roomWaiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  }

  /** Writes everything buffered (shutdown). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) {
      this.kick();
      await this.flushing;
    }
    // One last attempt: a mark left unrecorded only costs the next owner a ClickHouse check.
    if (this.owedMarks.size > 0) await this.markDurable([]);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.markRetryTimer);
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || (this.pending.length === 0 && this.owedMarks.size === 0)) return;
    const work = this.pending.length > 0 ? this.flushAll() : this.markDurable([]);
    this.flushing = work.finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0 && !this.stopped) {
        const waited = performance.now() - (this.oldestAt ?? performance.now());
        if (this.bufferedRows >= this.options.maxRows || waited >= this.options.maxWaitMs) this.kick();
        else this.timer = setTimeout(() => this.kick(), this.options.maxWaitMs - waited);
      }
    });
  }

  private async flushAll(): Promise<void> {
    const taken = this.pending;
    this.pending = [];
    this.bufferedRows -= this.count(taken);
    this.oldestAt = undefined;
    let rows = taken.flatMap((b) => b.rows);
    for (let attempt = 1; ; attempt++) {
      const flushId = randomUUID();
      const started = performance.now();
      try {
        await this.deps.writer.insert(rows, flushId);
        this.observer.onFlush?.(rows.length, performance.now() - started);
        this.failures = 0;
        break;
      } catch (err) {
        this.failures++;
        this.observer.onFlushFailed?.(err, attempt);
        if (this.stopped && attempt >= STOPPING_ATTEMPTS) {
          // Not durable, so not committed: the partitions' next owners write these rows.
          this.deps.logger.warn(
            { err, rows: rows.length },
            'stopping with rows ClickHouse did not take; their offsets stay uncommitted',
          );
          return;
        }
        const wait = backoffMs(attempt, this.options.retryMaxMs);
        this.deps.logger.warn(
          { err, rows: rows.length, attempt, retryInMs: wait },
          'ClickHouse insert failed; finding out what it stored before writing the rest',
        );
        await new Promise((r) => setTimeout(r, wait));
        rows = await this.unstored(rows, flushId).catch((checkErr: unknown) => {
          this.deps.logger.warn({ err: checkErr }, 'could not ask ClickHouse what it stored; asking again');
          return rows;
        });
        if (rows.length === 0) break;
      }
    }
    await this.markDurable(taken);
    this.wakeIfRoom();
  }

  /** The rows of `rows` ClickHouse does not hold, once the failed flush no longer runs. */
  private async unstored(rows: FencedRow[], flushId: string): Promise<FencedRow[]> {
    await this.deps.writer.settle(flushId);
    const lowest = new Map<number, string>();
    for (const { row } of rows) {
      const before = lowest.get(row.kafka_partition);
      if (before === undefined || offsetAfter(before, row.kafka_offset))
        lowest.set(row.kafka_partition, row.kafka_offset);
    }
    const stored = new Map<number, Set<string>>();
    for (const [partition, offset] of lowest)
      stored.set(
        partition,
        await this.deps.writer.storedOffsets(this.deps.topic, partition, (BigInt(offset) - 1n).toString()),
      );
    return rows.filter(({ row }) => !stored.get(row.kafka_partition)!.has(row.kafka_offset));
  }

  /**
   * Records the newest flushed offset of each partition, with those still owed. A mark Redis
   * refused to take (a failover, a restart) is tried again until it is recorded: otherwise a
   * partition with nothing more to read would stay behind in Redis and uncommitted for good.
   */
  private async markDurable(flushed: readonly PendingBatch[]): Promise<void> {
    for (const b of flushed) {
      const owed = this.owedMarks.get(b.partition);
      if (!owed || offsetAfter(b.lastOffset, owed.lastOffset)) this.owedMarks.set(b.partition, { ...b, rows: [] });
    }
    let failed = false;
    for (const b of [...this.owedMarks.values()]) {
      try {
        await this.deps.onDurable(b.partition, b.gen, b.lastOffset);
        if (this.owedMarks.get(b.partition) === b) this.owedMarks.delete(b.partition);
      } catch (err) {
        failed = true;
        this.deps.logger.warn(
          { err, partition: b.partition, offset: b.lastOffset },
          'could not record the durable offset; trying again',
        );
      }
    }
    this.markFailures = failed ? this.markFailures + 1 : 0;
    clearTimeout(this.markRetryTimer);
    if (failed && !this.stopped)
      this.markRetryTimer = setTimeout(() => this.kick(), backoffMs(this.markFailures, this.options.retryMaxMs));
  }

  private wakeIfRoom(): void {
    if (this.bufferedRows < this.options.maxBufferedRows) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private count(batches: readonly PendingBatch[]): number {
    let n = 0;
    for (const b of batches) n += b.rows.length;
    return n;
  }
}
