import type { PartitionTakeover } from '@livetally/live-state';
import type { Logger } from '@livetally/logging';
import { nextOffset, offsetAfter, type OwnedPartition } from './batch-processor';

export interface OwnershipDeps {
  topic: string;
  /** This worker's name in lt_partition_owners (for operators; fencing uses generations). */
  owner: string;
  counters: { takePartition(topic: string, partition: number, floor: number): Promise<PartitionTakeover> };
  fence: {
    ownerGeneration(topic: string, partition: number): Promise<number>;
    takeOwnership(topic: string, partition: number, gen: number, owner: string): Promise<void>;
    storedOffsets(topic: string, partition: number, after: string): Promise<Set<string>>;
  };
  /** The partition's earliest offset Kafka still holds. */
  logStart(topic: string, partition: number): Promise<string>;
  logger: Logger;
}

/** Kafka no longer holds what a partition needs to catch up: only a rebuild from ClickHouse can. */
export class RebuildRequiredError extends Error {
  constructor(
    readonly partition: number,
    readonly from: string,
    readonly logStart: string,
  ) {
    super(
      `partition ${partition} must be replayed from offset ${from} (Redis lost state back to there), but Kafka holds it only from ${logStart}: ` +
        'run `npm run rebuild` to restore the live state from ClickHouse',
    );
    this.name = 'RebuildRequiredError';
  }
}

/**
 * The partitions this worker owns (ADR 0001). Taking one: a new owner generation from
 * Redis (above ClickHouse's highest), recorded as the fence in ClickHouse, after which
 * no former owner can write either store; then what ClickHouse already holds beyond
 * the durable offset, so a replay inserts only the rest.
 */
export class PartitionOwners {
  private readonly owned = new Map<number, Promise<OwnedPartition>>();
  /** The durable offset each partition had when this worker last took it. */
  private readonly durableAtTake = new Map<number, string>();

  constructor(private readonly deps: OwnershipDeps) {}

  get(partition: number): Promise<OwnedPartition> {
    let taking = this.owned.get(partition);
    if (!taking) {
      taking = this.take(partition);
      this.owned.set(partition, taking);
      taking.catch(() => this.owned.delete(partition));
    }
    return taking;
  }

  /**
   * Forgets a partition (lost to another worker, or its state moved): the next batch
   * takes it again. Returns where reading it again is sure to miss nothing: the offset
   * after its durable offset when this worker took it (undefined if it never did).
   */
  lose(partition: number): string | undefined {
    this.owned.delete(partition);
    const durable = this.durableAtTake.get(partition);
    return durable === undefined ? undefined : nextOffset(durable);
  }

  /** Forgets every partition not in `assigned`; returns the ones forgotten. */
  retainOnly(assigned: ReadonlySet<number>): number[] {
    const lost = [...this.owned.keys()].filter((p) => !assigned.has(p));
    for (const p of lost) this.owned.delete(p);
    return lost;
  }

  /**
   * Where the partition must be read from: the offset after the durable one, checked
   * against what Kafka still holds; undefined when `firstFetched` is not past it.
   */
  seekTarget(owned: OwnedPartition, firstFetched: string): Promise<string | undefined> {
    return this.readFrom(owned, nextOffset(owned.durable), firstFetched);
  }

  /**
   * Where the partition must be read from when the batch leaves a gap after what this worker
   * holds: Kafka's position moved past the offset after the applied (or queued) one, which
   * kafkajs does after a rebalance that keeps the partition here (it starts again from the
   * group's committed offset, and a commit can be ahead of Redis restored from an older
   * snapshot). The apply's fence checks the applied offset, not that the batch follows it,
   * so processing such a batch would skip the gap's events in Redis for good. Undefined
   * when the batch follows on.
   */
  gapTarget(owned: OwnedPartition, firstFetched: string): Promise<string | undefined> {
    const held = offsetAfter(owned.applied, owned.queued) ? owned.queued : owned.applied;
    return this.readFrom(owned, nextOffset(held), firstFetched);
  }

  /**
   * `from`, checked against what Kafka still holds, when the batch starts past it; undefined
   * when it does not. A log that no longer holds `from` needs a rebuild once anything was counted.
   */
  private async readFrom(owned: OwnedPartition, from: string, firstFetched: string): Promise<string | undefined> {
    if (!offsetAfter(firstFetched, from)) return undefined;
    const logStart = await this.deps.logStart(owned.topic, owned.partition);
    if (!offsetAfter(logStart, from)) return from;
    if (owned.durable !== '-1' || owned.applied !== '-1')
      throw new RebuildRequiredError(owned.partition, from, logStart);
    // Nothing counted yet: what Kafka no longer holds was never in either store.
    return offsetAfter(firstFetched, logStart) ? logStart : undefined;
  }

  private async take(partition: number): Promise<OwnedPartition> {
    const { topic, owner, counters, fence, logger } = this.deps;
    const floor = await fence.ownerGeneration(topic, partition);
    const { gen, applied, durable } = await counters.takePartition(topic, partition, floor);
    await fence.takeOwnership(topic, partition, gen, owner);
    const storedAfterDurable = await fence.storedOffsets(topic, partition, durable);
    this.durableAtTake.set(partition, durable);
    logger.info(
      { partition, gen, applied, durable, storedAfterDurable: storedAfterDurable.size },
      'took the partition',
    );
    return { topic, partition, gen, applied, durable, storedAfterDurable, queued: durable, positioned: false };
  }
}
