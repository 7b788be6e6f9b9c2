import {
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURE_NAMES,
  type LeaderboardDimension,
  type LeaderboardMeasure,
} from '@livetally/events';
import { DEFAULT_KEY_PREFIX, partitionTag } from './keys';

/**
 * Keys of the live measures beyond cumulative totals: each partition's share of a scope's
 * minute buckets, HyperLogLogs and leaderboards, under the partition's hash tag like its
 * totals share (keys.ts), so one partition batch's keys share a Redis Cluster slot.
 */
export const RANK_DIMENSIONS = LEADERBOARD_DIMENSIONS;
export type LiveRankDimension = LeaderboardDimension;
export const RANK_MEASURES = LEADERBOARD_MEASURE_NAMES;
export type LiveRankMeasure = LeaderboardMeasure;

/** Minute buckets live this long: the 2-hour series plus slack for late events. */
export const MINUTE_BUCKET_TTL_SECONDS = 3 * 3600;
export const MINUTE_MS = 60_000;

/** The start of the minute bucket that time `ts` falls in. */
export const minuteOf = (ts: number): number => Math.floor(ts / MINUTE_MS) * MINUTE_MS;

/** Buckets of minutes before this have expired at `now`; every writer skips them. */
export const bucketsExpireBefore = (now: number): number => now - MINUTE_BUCKET_TTL_SECONDS * 1000;

/** Seconds (at least 1) a minute bucket has left at `now`: it expires a fixed time after its minute, whenever written. */
export const minuteBucketTtl = (minute: number, now: number): number =>
  Math.max(1, Math.ceil((minute - bucketsExpireBefore(now)) / 1000));

/** The live measures' keys of ONE partition's share (ADR 0003): every key carries the partition tag. */
export interface LiveKeys {
  /** The partition tag (`<topic>/<p>`) these keys are under. */
  readonly tag: string;
  minute(scope: string, minuteStartMs: number): string;
  viewers(scope: string): string;
  hosts(scope: string): string;
  ranking(parent: string, dimension: LiveRankDimension, measure: LiveRankMeasure): string;
}

/** The live measures' key layout under a prefix: one LiveKeys per partition. */
export interface LiveKeySpace {
  partition(topic: string, partition: number): LiveKeys;
  /** By partition tag (`<topic>/<p>`, keys.ts partitionTag). */
  forTag(tag: string): LiveKeys;
}

export function liveKeys(prefix = DEFAULT_KEY_PREFIX): LiveKeySpace {
  const forTag = (tag: string): LiveKeys => ({
    tag,
    minute: (scope, m) => `${prefix}:m:{${tag}}:${scope}:${Math.floor(m / MINUTE_MS)}`,
    viewers: (scope) => `${prefix}:u:{${tag}}:${scope}`,
    hosts: (scope) => `${prefix}:h:{${tag}}:${scope}`,
    ranking: (parent, d, m) => `${prefix}:r:{${tag}}:${parent}:${d}:${m}`,
  });
  return { forTag, partition: (topic, p) => forTag(partitionTag(topic, p)) };
}
