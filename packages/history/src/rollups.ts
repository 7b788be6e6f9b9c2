import type { Granularity } from './history-queries';

/** How long a rollup row spans: a minute, an hour or a day, starting in Asia/Shanghai. */
export type RollupGrain = 'minute' | 'hour' | 'day';

/**
 * One rollup of lt_events: a table filled by its materialized view, one row per grain and
 * dimension combination. Its time column is named after its grain.
 */
export interface Rollup {
  table: string;
  view: string;
  grain: RollupGrain;
  /** Rows keep host_id; without it the distinct hosts are kept as `hosts`, a uniqExact state. */
  hostColumn: boolean;
  /**
   * Created after events were stored: its view counts the rows ingested from its fence on,
   * the rows before are filled in once (rollup-fill.ts), and queries read it only after that.
   */
  fenced: boolean;
}

export const MINUTE_ROLLUP: Rollup = {
  table: 'lt_rollup_minute',
  view: 'lt_rollup_minute_mv',
  grain: 'minute',
  hostColumn: true,
  fenced: false,
};
export const HOUR_ROLLUP: Rollup = {
  table: 'lt_rollup_hour',
  view: 'lt_rollup_hour_mv',
  grain: 'hour',
  hostColumn: false,
  fenced: true,
};
export const DAY_ROLLUP: Rollup = {
  table: 'lt_rollup_day',
  view: 'lt_rollup_day_mv',
  grain: 'day',
  hostColumn: true,
  fenced: true,
};

/** Every rollup, coarsest first; the minute rollup answers any range the others cannot. */
export const ROLLUPS: readonly Rollup[] = [DAY_ROLLUP, HOUR_ROLLUP, MINUTE_ROLLUP];

/** The dimension columns every rollup keeps (host_id only where `hostColumn`). */
export const ROLLUP_DIMENSIONS = ['platform', 'city', 'district', 'category'] as const;

const GRAIN_SECONDS: Record<RollupGrain, number> = { minute: 60, hour: 3_600, day: 86_400 };
// Asia/Shanghai has kept +08:00 all year since 1991, so its days start at 16:00 UTC and
// its hours and minutes are UTC's. Before then (summer time) no range reads the day rollup.
const SHANGHAI_OFFSET_S = 8 * 3_600;
const SHANGHAI_FIXED_SINCE_S = Date.UTC(1992, 0, 1) / 1000;

function floorTo(grain: RollupGrain, s: number): number {
  const shift = grain === 'day' ? SHANGHAI_OFFSET_S : 0;
  const size = GRAIN_SECONDS[grain];
  return Math.floor((s + shift) / size) * size - shift;
}

/**
 * Whether `s` (epoch seconds) starts an Asia/Shanghai day the day rollup and the viewer
 * sketches can read: on the day's grain, and since the zone's offset has been fixed.
 */
export function startsShanghaiDay(s: number): boolean {
  return s >= SHANGHAI_FIXED_SINCE_S && floorTo('day', s) === s;
}

function ceilTo(grain: RollupGrain, s: number): number {
  const down = floorTo(grain, s);
  return down === s ? s : down + GRAIN_SECONDS[grain];
}

/** Time zones whose hours start on UTC's hours (so on the hour rollup's), and whose days start on Asia/Shanghai's. */
const HOUR_ALIGNED_ZONES = new Set(['UTC', 'Etc/UTC', 'Asia/Shanghai']);
const SHANGHAI_DAY_ZONES = new Set(['Asia/Shanghai']);

/** What a question needs of a rollup besides the range. */
export interface RollupNeeds {
  /** It filters or ranks by host. */
  host: boolean;
  /** A series: each of the rollup's rows must fall inside one bucket of the granularity in the zone. */
  series?: { granularity: Granularity; timeZone: string };
}

function fits(rollup: Rollup, needs: RollupNeeds, fromS: number): boolean {
  if (needs.host && !rollup.hostColumn) return false;
  if (rollup.grain === 'day' && fromS < SHANGHAI_FIXED_SINCE_S) return false;
  const series = needs.series;
  if (!series || rollup.grain === 'minute') return true;
  if (series.granularity === 'minute') return false;
  if (rollup.grain === 'hour') return HOUR_ALIGNED_ZONES.has(series.timeZone);
  return series.granularity === 'day' && SHANGHAI_DAY_ZONES.has(series.timeZone);
}

/** One rollup read over [from, to) in epoch seconds, both on its grain. */
export interface RollupSegment {
  rollup: Rollup;
  from: number;
  to: number;
}

/**
 * The rollups that answer a question over [fromMs, toMs) exactly as the minute rollup
 * does: its minutes are those starting in the range, so the range is [from, to) rounded
 * up to whole minutes. The coarsest usable rollup reads the whole grains in the middle;
 * each unaligned edge goes to the next finer one, down to the minute rollup (at most five
 * segments). `available` is coarsest first and ends with the minute rollup.
 */
export function planRollups(
  available: readonly Rollup[],
  needs: RollupNeeds,
  fromMs: number,
  toMs: number,
): RollupSegment[] {
  const from = ceilTo('minute', Math.floor(fromMs / 1000));
  const to = ceilTo('minute', Math.floor(toMs / 1000));
  const usable = available.filter((r) => r.grain === 'minute' || fits(r, needs, from));
  if (usable.at(-1)?.grain !== 'minute') throw new Error('the minute rollup must be available, finest last');
  if (from >= to) return [{ rollup: usable.at(-1)!, from, to }];
  return cover(usable, from, to);
}

function cover(rollups: readonly Rollup[], from: number, to: number): RollupSegment[] {
  if (from >= to) return [];
  const [rollup, ...finer] = rollups as [Rollup, ...Rollup[]];
  if (finer.length === 0) return [{ rollup, from, to }];
  const start = ceilTo(rollup.grain, from);
  const end = floorTo(rollup.grain, to);
  if (start >= end) return cover(finer, from, to);
  return [...cover(finer, from, start), { rollup, from: start, to: end }, ...cover(finer, end, to)];
}
