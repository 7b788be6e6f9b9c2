/**
 * The month's workers keep resend fingerprints for 60 s of wall time (INGEST_DEDUP_WINDOW_SECONDS,
 * its least), not the default hour. The replay plays 70 days in a few hours: an hour of
 * it holds a third of the month's fingerprints (at scale 1, 11.3 GiB of Redis and 40
 * rewrites of its append-only file, 2026-12-06), where a real deployment's window holds
 * the last hour's events. 60 s of the replay still hold more than the month's busiest hour
 * at any pace above 7,800 events/s at scale 1 (464,640 rows; 390 events/s at scale 0.05),
 * so Redis holds about what the real month would need, as the rebuild's window does
 * (bench/lib/month-recovery.ts).
 */
export const MONTH_DEDUP_WINDOW_S = 60;

/**
 * How many resend-fingerprint buckets the month's workers use per event hour and partition
 * (INGEST_DEDUP_BUCKETS_PER_HOUR), sized to the month as an operator would size them.
 *
 * The default, 4,096, suits a busy stream of events; the real month averages 47 events/s
 * over 12 partitions, so at scale 1 a bucket would hold about 3.5 fingerprints and nearly
 * every claim would create a key and set its expiry. At about 56 a bucket (A/B at scale
 * 0.05, docs/benchmarks.md) Redis held half the memory (984 → 462 MiB) and spent 17% less
 * CPU an event, both runs exact.
 */
export const MONTH_FINGERPRINTS_PER_BUCKET = 56;
/** Shenzhen's month: about 286 million events over 70 days. */
export const MONTH_EVENTS_AT_SCALE_1 = 286e6;
export const MONTH_HOURS = 70 * 24;

export function monthDedupBuckets(scale: number, partitions: number): number {
  const perPartitionHour = (MONTH_EVENTS_AT_SCALE_1 * scale) / MONTH_HOURS / partitions;
  return Math.max(1, Math.round(perPartitionHour / MONTH_FINGERPRINTS_PER_BUCKET));
}
