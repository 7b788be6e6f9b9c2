import { fmtGiB, freeDiskBytes, GIB } from './footprint';

/**
 * What the month scenario may keep on disk, and the Kafka topic settings that bound it.
 *
 * The month topic is plain JSON, ~210 B an event: kept whole, scale 1 (286 million events)
 * would be ~60 GB of Kafka log on a disk with ~77 GB free. So the topic keeps at most
 * MONTH_RETENTION_BYTES per partition (Kafka deletes whole segments once a partition holds
 * more than that plus its active segment; MONTH_SEGMENT_BYTES makes the steps small), and
 * the producer never runs more than MONTH_MAX_LAG_EVENTS ahead of what the workers have
 * applied (bench/workers/month-producer.ts), which is well under one partition's retention:
 * so deletion only ever removes records every worker has read, whatever the run's speed.
 * No time-based retention (the broker's default, 24 h, outlasts the run's 4 h bound): a
 * short one would delete unread records if the workers stalled while the producer waits.
 */
export const MONTH_RETENTION_BYTES = 512 * 2 ** 20;
export const MONTH_SEGMENT_BYTES = 128 * 2 ** 20;
/** ~30 s of the pipeline's work at scale 1: enough queued to keep the workers busy. */
export const MONTH_MAX_LAG_EVENTS = 1_000_000;

export const MONTH_TOPIC_CONFIG: Record<string, string> = {
  'retention.bytes': String(MONTH_RETENTION_BYTES),
  'segment.bytes': String(MONTH_SEGMENT_BYTES),
};

/** Bytes per event on disk, measured at scale 0.001 (Kafka 254, ClickHouse 31) and rounded up. */
const KAFKA_BYTES_PER_EVENT = 260;
const CLICKHOUSE_BYTES_PER_EVENT = 32;
/**
 * Redis's directory: the append-only file is rewritten once it doubles, and while a rewrite
 * runs the old file and the new one are both on disk, so the peak is about three times
 * the data set. Measured at scale 1 (2026-12-06, 4,096 fingerprint buckets): 22.3 GB at
 * 184 million events, 121 B an event. Fewer buckets make the data set smaller; the
 * estimate keeps the measured figure, rounded up.
 */
const REDIS_AOF_BYTES_PER_EVENT = 125;
/**
 * The broker looks for segments to delete every 5 min (log.retention.check.interval.ms) and
 * removes them 1 min later (file.delete.delay.ms): 6 min of writing at most at the
 * pipeline's best rate (~63,000 events/s measured; the producer cannot run further ahead).
 */
const KAFKA_SLACK_BYTES = 6 * 60 * 70_000 * KAFKA_BYTES_PER_EVENT;
const MARGIN_BYTES = 2 * GIB;

if (MONTH_MAX_LAG_EVENTS * KAFKA_BYTES_PER_EVENT >= MONTH_RETENTION_BYTES)
  throw new Error('month-disk: the producer could run further ahead than one partition keeps');

export interface MonthDiskEstimate {
  kafkaBytes: number;
  clickhouseBytes: number;
  redisAofBytes: number;
  marginBytes: number;
  totalBytes: number;
}

/** The most the month can add to the disk: ClickHouse and Redis grow with the events, Kafka up to its bound. */
export function estimateMonthDisk(events: number, partitions: number): MonthDiskEstimate {
  const kafkaBound = partitions * (MONTH_RETENTION_BYTES + MONTH_SEGMENT_BYTES) + KAFKA_SLACK_BYTES;
  const kafkaBytes = Math.min(events * KAFKA_BYTES_PER_EVENT, kafkaBound);
  const clickhouseBytes = events * CLICKHOUSE_BYTES_PER_EVENT;
  const redisAofBytes = events * REDIS_AOF_BYTES_PER_EVENT;
  return {
    kafkaBytes,
    clickhouseBytes,
    redisAofBytes,
    marginBytes: MARGIN_BYTES,
    totalBytes: kafkaBytes + clickhouseBytes + redisAofBytes + MARGIN_BYTES,
  };
}

/**
 * Refuses to start a month that may not fit: the estimate for about `events` events must
 * be under the free space of the stack's file system (one disk holds Kafka, Redis and
 * ClickHouse on this machine).
 */
export function ensureMonthFits(
  events: number,
  partitions: number,
): { freeBytes: number; estimate: MonthDiskEstimate } {
  const estimate = estimateMonthDisk(events, partitions);
  const freeBytes = freeDiskBytes();
  if (estimate.totalBytes > freeBytes)
    throw new Error(
      `not enough free disk for the month at this scale: ${fmtGiB(freeBytes)} free, ${describeEstimate(estimate)} needed; free some space or lower --month-scale`,
    );
  return { freeBytes, estimate };
}

export function describeEstimate(e: MonthDiskEstimate): string {
  return `up to ${fmtGiB(e.totalBytes)} (Kafka ${fmtGiB(e.kafkaBytes)}, ClickHouse ${fmtGiB(e.clickhouseBytes)}, Redis append-only file ${fmtGiB(e.redisAofBytes)}, margin ${fmtGiB(e.marginBytes)})`;
}
