import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { headerText, type ReadRecord } from './letter';

/** Offsets [from, to) of one partition. */
export interface PartitionRange {
  partition: number;
  from: string;
  to: string;
}

export interface ReadOutcome {
  /** Partitions not read to their end before the deadline (or before `onRecord` stopped the read). */
  unfinished: PartitionRange[];
}

/**
 * Reads the given offset ranges of a topic once, in offset order per partition, bounded
 * by `timeoutMs`. kafkajs reads only through a consumer group: the group is a throwaway
 * one that never commits, so the broker forgets it when the reader leaves, and no
 * worker's group is touched. `onRecord` returning true stops the read.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  options: { timeoutMs: number; onRecord: (record: ReadRecord) => boolean | void },
): Promise<ReadOutcome> {
  const pending = new Map(ranges.filter((r) => BigInt(r.from) < BigInt(r.to)).map((r) => [r.partition, r]));
  if (pending.size === 0) return { unfinished: [] };
  const consumer = kafka.consumer({
    groupId: `livetally-reader-${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 500,
  });
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let stopped = false;
  const done = (partition: number) => {
    pending.delete(partition);
    consumer.pause([{ topic, partitions: [partition] }]);
    if (pending.size === 0) finish();
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = pending.get(batch.partition);
        if (!range || stopped) return;
        const from = BigInt(range.from);
        const to = BigInt(range.to);
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < from) continue;
          if (offset >= to) break;
          const record = {
            partition: batch.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: m.key,
            value: m.value,
            headers: headerText(m.headers),
          };
          if (options.onRecord(record) === true) {
            stopped = true;
            finish();
            return;
          }
        }
        if (BigInt(batch.lastOffset()) + 1n >= to) done(batch.partition);
      },
    });
    for (const r of pending.values()) consumer.seek({ topic, partition: r.partition, offset: r.from });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs)))]);
    clearTimeout(timer);
    return { unfinished: [...pending.values()] };
  } finally {
    await consumer.disconnect();
  }
}

/** Every partition's first and next offsets, and (with `since`) the first offset written at or after it. */
export async function partitionLogs(
  kafka: Kafka,
  topic: string,
  since: number | null,
): Promise<{ partition: number; low: string; high: string; timeStart?: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const byTime =
      since === null
        ? undefined
        : new Map((await admin.fetchTopicOffsetsByTimestamp(topic, since)).map((o) => [o.partition, o.offset]));
    return offsets
      .map((o) => ({ partition: o.partition, low: o.low, high: o.high, timeStart: byTime?.get(o.partition) }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}
