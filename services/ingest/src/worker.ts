import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '@livetally/logging';
import { backoffMs } from './backoff';
import { nextOffset, processPartitionBatch, type BatchDeps, type OwnedPartition } from './batch-processor';
import type { HistoryFlusher } from './history-flusher';
import type { BatchOutcome } from './outcomes';
import type { PartitionOwners } from './partition-owners';
import { rolledBackPartitions } from './rolled-back';

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
  owners: PartitionOwners;
  flusher: HistoryFlusher;
  /** Where durable offsets are recorded, fenced by the owner generation (RedisCounterStore). */
  durableOffsets: { markDurable(topic: string, partition: number, ownerGen: number, offset: string): Promise<boolean> };
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
  /** Where the group and Redis stand, to find partitions Redis moved back while no batch comes (see rolled-back.ts). */
  positions?: {
    committed(topic: string): Promise<ReadonlyMap<number, string>>;
    durable(topic: string): Promise<ReadonlyMap<number, string>>;
  };
  /** How often positions are compared, besides on every assignment; default 5000 ms. */
  positionCheckMs?: number;
  /** The consumer cannot be recovered: the process should exit non-zero so a supervisor restarts it. */
  onFatal?(err: Error): void;
  hooks?: WorkerHooks;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seeks back to the same gap, each answered by the same batch, before the gap is taken as empty. */
const GAP_SEEKS_BEFORE_ACCEPT = 3;

/**
 * Runs the consumer (ADR 0001): a partition's first batch takes ownership of it and, if
 * Kafka's position is past the durable offset, seeks back there. A batch's offset is
 * resolved (fetching moves on) once Redis holds it; its rows go to the history flusher,
 * which commits offsets once ClickHouse holds them too. While a store is down (the probe says so, or a batch
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
  private positionTimer: NodeJS.Timeout | undefined;
  private checkingPositions: Promise<void> | undefined;
  private assigned: ReadonlySet<number> = new Set();
  private readonly handling = new Set<Promise<void>>();
  /** Per partition: the last gap sought back over (see seekedToGap) and how many times in a row. */
  private readonly gapSeeks = new Map<number, { key: string; times: number }>();

  constructor(private readonly options: WorkerOptions) {
    const { consumer, logger } = options;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(payload.memberAssignment?.[options.topic] ?? []);
      this.assigned = assigned;
      for (const lost of options.owners.retainOnly(assigned)) options.flusher.drop(lost);
      this.crashes = 0;
      this.crashedSince = undefined;
      this.update({ joined: true });
      void this.checkPositions();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.update({ joined: false });
      if (this.stopped) return;
      logger.error(
        { err: payload.error, restart: payload.restart, crashes: this.crashes + 1 },
        'kafka consumer crashed',
      );
      if (!this.crashed(payload.error) && !payload.restart) this.scheduleRecovery();
    });
  }

  /** Ready = in the group, stores answering the probe, no batch failing and ClickHouse taking the flushes. */
  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    if (this.options.probeStores && !this.probeTimer) void this.probe();
    if (this.options.positions && !this.positionTimer) this.schedulePositionCheck();
    await this.run();
  }

  /**
   * Stops probing and recovery and fetches nothing more; once the running batches end,
   * writes what the flusher holds, so those offsets are durable for the partitions' next
   * owners, and only then leaves the group: Kafka takes offset commits from members only,
   * so committing before disconnecting is what leaves the group's lag at zero.
   */
  async stop(): Promise<void> {
    const { consumer, topic, flusher, logger } = this.options;
    this.stopped = true;
    clearTimeout(this.probeTimer);
    clearTimeout(this.recoverTimer);
    clearTimeout(this.positionTimer);
    this.update({ joined: false });
    try {
      consumer.pause([{ topic }]);
    } catch (err) {
      logger.debug({ err }, 'consumer not running; nothing to pause');
    }
    await Promise.allSettled(this.handling);
    // Stopping first bounds the drain: a flush ClickHouse keeps refusing gives up after a few attempts.
    flusher.stop();
    await flusher.drain();
    await consumer.disconnect();
  }

  /** Both stores hold the partition through `offset` (the flusher says so): record it, then commit. */
  async onDurable(partition: number, gen: number, offset: string): Promise<void> {
    const { durableOffsets, consumer, topic, logger } = this.options;
    if (!(await durableOffsets.markDurable(topic, partition, gen, offset))) {
      logger.warn(
        { partition, gen, offset },
        'the partition changed hands, or Redis no longer holds what this worker applied (restored from an older snapshot): not marked durable; taking it again',
      );
      this.lose(partition);
      return;
    }
    // Positions come from the durable offsets in Redis; the commit is for lag monitoring.
    await consumer
      .commitOffsets([{ topic, partition, offset: nextOffset(offset) }])
      .catch((err: Error) => logger.debug({ err: err.message, partition }, 'offset commit skipped'));
  }

  private async run(): Promise<void> {
    const { consumer, topic } = this.options;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      // Offsets are committed by onDurable, once ClickHouse holds the rows too.
      autoCommit: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrently ?? 12,
      eachBatch: (payload) => this.track(this.handleBatch(payload)),
    });
  }

  /** Remembers a running batch until it ends, so stop() can wait for it. */
  private async track(batch: Promise<void>): Promise<void> {
    this.handling.add(batch);
    try {
      await batch;
    } finally {
      this.handling.delete(batch);
    }
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

  private schedulePositionCheck(): void {
    this.positionTimer = setTimeout(async () => {
      await this.checkPositions();
      if (!this.stopped) this.schedulePositionCheck();
    }, this.options.positionCheckMs ?? 5_000);
  }

  /**
   * Reads again, from what Redis holds, every assigned partition whose group commit is ahead of
   * it (Redis restored from an older snapshot). A batch shows that too, but none comes while the
   * commit is at the topic's end. The commit is moved back with the position, so the next check
   * does not take the partition again before the first flush commits.
   */
  private checkPositions(): Promise<void> {
    const { positions, topic, consumer, logger } = this.options;
    if (!positions || this.stopped || this.checkingPositions) return this.checkingPositions ?? Promise.resolve();
    this.checkingPositions = (async () => {
      // The commit first: it only follows a durable mark, so read in this order a healthy partition never looks behind.
      const committed = await positions.committed(topic);
      const durable = await positions.durable(topic);
      for (const { partition, from, committed: commit } of rolledBackPartitions(this.assigned, committed, durable)) {
        if (this.stopped || !this.assigned.has(partition)) continue;
        logger.warn(
          { partition, from, committed: commit },
          'the group committed past what Redis holds of the partition (Redis restored from an older snapshot?); reading it again from there',
        );
        this.options.owners.lose(partition);
        this.options.flusher.drop(partition);
        consumer.seek({ topic, partition, offset: from });
        await consumer.commitOffsets([{ topic, partition, offset: from }]);
      }
    })()
      .catch((err: Error) => logger.debug({ err: err.message }, 'position check skipped'))
      .finally(() => (this.checkingPositions = undefined));
    return this.checkingPositions;
  }

  private update(change: { joined?: boolean; storesUp?: boolean }): void {
    this.joined = change.joined ?? this.joined;
    this.storesUp = change.storesUp ?? this.storesUp;
    const ready =
      this.joined && this.storesUp && this.failing.size === 0 && this.options.flusher.isHealthy() && !this.stopped;
    if (this.ready !== ready) {
      this.ready = ready;
      this.options.hooks?.onReadyChange?.(ready);
    }
  }

  /** Readiness follows the flusher too (ClickHouse refusing inserts); called by its observer. */
  refreshReadiness(): void {
    this.update({});
  }

  /**
   * Gives up what this worker knew of a partition, including rows it had not flushed.
   * While the partition is still assigned here, Kafka is read again from where nothing
   * can be missed: the batches whose rows were dropped may already be resolved, and no
   * new batch (which would take the partition again) may ever come.
   */
  private lose(partition: number): void {
    const from = this.options.owners.lose(partition);
    this.options.flusher.drop(partition);
    if (from === undefined || !this.assigned.has(partition) || this.stopped) return;
    try {
      this.options.consumer.seek({ topic: this.options.topic, partition, offset: from });
    } catch (err) {
      this.options.logger.warn(
        { err, partition },
        'could not read the partition again after losing it; its next batch will',
      );
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    const { deps, hooks, logger, retryMaxMs, owners, flusher } = this.options;
    const log = logger.child({ partition: batch.partition, firstOffset: batch.firstOffset() });
    hooks?.onLag?.(batch.partition, Number(batch.offsetLag()));
    // Handed on as kafkajs holds them (RawMessage is a view of its message): no copy per message.
    const { messages } = batch;
    const stillWanted = () => isRunning() && !isStale() && !this.stopped;
    let attempt = 0;
    try {
      // Leaving this loop without resolving (stopping, rebalanced, seeked) is safe:
      // unresolved offsets are fetched again, by this worker or the partition's next owner.
      while (stillWanted()) {
        if (!this.storesUp) {
          // A store is known to be down: hold the batch without hammering it.
          await this.pause(500, payload);
          continue;
        }
        const started = performance.now();
        let outcome: BatchOutcome;
        try {
          await this.heartbeating(flusher.waitForRoom({ stillWanted }), payload);
          // Taking a partition needs live state (a fresh deployment is set up here, after asking ClickHouse for history).
          await this.heartbeating(Promise.resolve(deps.liveState?.ensureReady(batch.topic, batch.partition)), payload);
          const owned = await this.heartbeating(owners.get(batch.partition), payload);
          const firstFetched = batch.firstOffset();
          if (firstFetched !== null && (await this.seekedBack(owned, firstFetched, log))) return;
          if (firstFetched !== null && (await this.seekedToGap(owned, firstFetched, log))) return;
          outcome = await this.heartbeating(
            processPartitionBatch({ ...deps, logger: log }, owned, {
              topic: batch.topic,
              partition: batch.partition,
              messages,
            }),
            payload,
          );
          if (outcome.kind === 'processed')
            flusher.add({
              partition: batch.partition,
              gen: owned.gen,
              lastOffset: outcome.lastOffset,
              rows: outcome.rows,
            });
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
          if (outcome.reason === 'lost-ownership') this.lose(batch.partition);
          // Unresolved offsets are fetched again; a short pause avoids a hot loop.
          await this.pause(200, payload);
        } else {
          resolveOffset(outcome.lastOffset);
        }
        await payload.heartbeat();
        return;
      }
    } finally {
      if (this.failing.delete(batch.partition)) this.update({});
    }
  }

  /** A newly owned partition whose fetch position is past its durable offset is read again from there (checked once). */
  private async seekedBack(owned: OwnedPartition, firstFetched: string, log: Logger): Promise<boolean> {
    if (owned.positioned) return false;
    const target = await this.options.owners.seekTarget(owned, firstFetched);
    if (target === undefined) {
      owned.positioned = true;
      return false;
    }
    log.info({ from: target, gen: owned.gen }, 'reading the partition again from after its durable offset');
    this.options.consumer.seek({ topic: owned.topic, partition: owned.partition, offset: target });
    return true;
  }

  /**
   * A batch that does not follow what this worker applied and queued (kafkajs moved the
   * position ahead, e.g. to the committed offset after a rebalance): read again from the
   * offset after them instead, leaving the batch unresolved (checked for every batch).
   */
  private async seekedToGap(owned: OwnedPartition, firstFetched: string, log: Logger): Promise<boolean> {
    const target = await this.options.owners.gapTarget(owned, firstFetched);
    if (target === undefined) {
      this.gapSeeks.delete(owned.partition);
      return false;
    }
    // Kafka may hold no record in the gap (control records of transactional producers leave
    // offsets no consumer sees; LiveTally's producers are not transactional): the same batch
    // then comes back after each seek. Taken as it is only after GAP_SEEKS_BEFORE_ACCEPT seeks in
    // a row that each came back to it, as a repeated move of the position would not.
    const key = `${owned.gen}:${target}:${firstFetched}`;
    const last = this.gapSeeks.get(owned.partition);
    const times = last?.key === key ? last.times + 1 : 1;
    if (times > GAP_SEEKS_BEFORE_ACCEPT) {
      this.gapSeeks.delete(owned.partition);
      log.warn(
        { from: target, firstFetched },
        'Kafka holds no record between the applied offset and this batch; going on',
      );
      return false;
    }
    this.gapSeeks.set(owned.partition, { key, times });
    log.warn(
      { from: target, applied: owned.applied, queued: owned.queued, gen: owned.gen },
      'the batch does not follow what this worker holds of the partition (its position moved ahead); reading again from there',
    );
    this.options.consumer.seek({ topic: owned.topic, partition: owned.partition, offset: target });
    return true;
  }

  /**
   * Awaits `work` while heartbeating every second, so a slow but healthy step (the
   * live-state check, an ownership taken after a running flush, a large dead-letter send, store retries)
   * never costs the group membership. Heartbeat errors are left to kafkajs once the work
   * is done: the work is never abandoned half-way.
   */
  private async heartbeating<T>(work: Promise<T>, payload: EachBatchPayload): Promise<T> {
    let done = false;
    const beat = (async () => {
      while (!done) {
        await sleep(1_000);
        if (!done) await payload.heartbeat().catch(() => undefined);
      }
    })();
    try {
      return await work;
    } finally {
      done = true;
      void beat;
    }
  }

  /**
   * Waits, heartbeating so the group keeps the partition, and returns early when the
   * consumer or the worker stops. A heartbeat error (rebalance, broker gone) is thrown on so that
   * kafkajs rejoins or retries; nothing was resolved, so nothing is lost.
   */
  private async pause(ms: number, { heartbeat, isRunning }: EachBatchPayload): Promise<void> {
    const until = Date.now() + ms;
    while (isRunning() && !this.stopped && Date.now() < until) {
      await sleep(Math.min(250, until - Date.now()));
      await heartbeat();
    }
  }
}
