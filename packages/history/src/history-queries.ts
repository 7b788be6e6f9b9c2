import type { ClickHouseClient } from '@clickhouse/client';
import {
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURE_NAMES,
  type LeaderboardDimension,
  type LeaderboardMeasure,
  type MeasureTotals,
} from '@livetally/events';
import { ROLLUP_SUMS, leaderboardRollupSql, rollupColumn } from './counting-sql';
import { scopeColumn } from './rows';

/** What a history query is about: one scope, or a campaign's filters. */
export type HistorySubject =
  | { kind: 'all' }
  | { kind: 'city' | 'district' | 'category' | 'platform' | 'host'; value: string }
  | { kind: 'filters'; cities?: string[]; districts?: string[]; categories?: string[]; platforms?: string[] };

export type Granularity = 'minute' | 'hour' | 'day';
export const RANK_DIMENSIONS = LEADERBOARD_DIMENSIONS;
export type RankDimension = LeaderboardDimension;
export const RANK_MEASURES = LEADERBOARD_MEASURE_NAMES;
export type RankMeasure = LeaderboardMeasure;

export interface HistoryMeasures extends MeasureTotals {
  netSalesFen: number;
  /** Estimated distinct viewers (ClickHouse uniq). */
  uniqueViewers: number;
  /** Distinct hosts with any event. */
  activeHosts: number;
}

const COLUMN = Object.fromEntries(RANK_DIMENSIONS.map((d) => [d, scopeColumn(d)!])) as Record<RankDimension, string>;
const MEASURES = `${ROLLUP_SUMS},
  sum(${rollupColumn('salesFen')}) - sum(${rollupColumn('refundsFen')}) AS netSalesFen,
  uniqMerge(viewers) AS uniqueViewers, uniqExact(host_id) AS activeHosts`;

/** WHERE fragments come from a fixed set; every value travels as a query parameter. */
function subjectWhere(subject: HistorySubject, params: Record<string, unknown>): string[] {
  if (subject.kind === 'all') return [];
  if (subject.kind !== 'filters') {
    params.subjectValue = subject.value;
    return [`${COLUMN[subject.kind]} = {subjectValue:String}`];
  }
  const out: string[] = [];
  const lists: [keyof typeof subject, string][] = [
    ['cities', 'city'],
    ['districts', 'district'],
    ['categories', 'category'],
    ['platforms', 'platform'],
  ];
  for (const [key, column] of lists) {
    const values = subject[key] as string[] | undefined;
    if (values && values.length > 0) {
      params[`f_${column}`] = values;
      out.push(`${column} IN {f_${column}:Array(String)}`);
    }
  }
  return out;
}

function toNumbers<T>(row: Record<string, string | number>): T {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, k === 'bucket' || k === 'name' ? v : Number(v)]),
  ) as T;
}

/** Reads only the per-minute rollups, never raw events, so ranges of months stay fast. */
export class HistoryQueries {
  constructor(private readonly client: ClickHouseClient) {}

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return (await rs.json<Record<string, string | number>>()).map((r) => toNumbers<T>(r));
  }

  private range(from: number, to: number, params: Record<string, unknown>): string {
    params.from = Math.floor(from / 1000);
    params.to = Math.floor(to / 1000);
    return 'minute >= toDateTime({from:UInt32}) AND minute < toDateTime({to:UInt32})';
  }

  /** Totals over [from, to) — a campaign's window, a day, any range. */
  async totals(subject: HistorySubject, from: number, to: number): Promise<HistoryMeasures> {
    const params: Record<string, unknown> = {};
    const where = [this.range(from, to, params), ...subjectWhere(subject, params)].join(' AND ');
    const [row] = await this.rows<HistoryMeasures>(`SELECT ${MEASURES} FROM lt_rollup_minute WHERE ${where}`, params);
    return row!;
  }

  /** A time series at minute, hour or day granularity; buckets in the given zone, empty ones omitted. */
  async series(
    subject: HistorySubject,
    from: number,
    to: number,
    granularity: Granularity,
    timeZone = 'Asia/Shanghai',
  ): Promise<(HistoryMeasures & { bucket: string })[]> {
    const params: Record<string, unknown> = { tz: timeZone };
    const where = [this.range(from, to, params), ...subjectWhere(subject, params)].join(' AND ');
    const bucket = {
      minute: 'toStartOfMinute(minute)',
      hour: 'toStartOfHour(toTimeZone(minute, {tz:String}))',
      day: 'toStartOfDay(toTimeZone(minute, {tz:String}))',
    }[granularity];
    return this.rows(
      `SELECT formatDateTime(${bucket}, '%Y-%m-%dT%H:%i:%S', {tz:String}) AS bucket, ${MEASURES} FROM lt_rollup_minute WHERE ${where} GROUP BY bucket ORDER BY bucket`,
      params,
    );
  }

  /** Top-N members of a dimension by a measure over a range, optionally within a subject. */
  async top(
    dimension: RankDimension,
    measure: RankMeasure,
    from: number,
    to: number,
    limit: number,
    subject: HistorySubject = { kind: 'all' },
  ): Promise<{ name: string; value: number }[]> {
    const params: Record<string, unknown> = { limit };
    const where = [this.range(from, to, params), ...subjectWhere(subject, params)].join(' AND ');
    return this.rows(
      `SELECT ${COLUMN[dimension]} AS name, ${leaderboardRollupSql(measure)} AS value FROM lt_rollup_minute WHERE ${where} GROUP BY name ORDER BY value DESC, name ASC LIMIT {limit:UInt32}`,
      params,
    );
  }

  /** 1-based rank of one member (e.g. a city nationally) by a measure over a range; null when absent. */
  async rankOf(
    dimension: RankDimension,
    name: string,
    measure: RankMeasure,
    from: number,
    to: number,
  ): Promise<{ rank: number; of: number; value: number } | null> {
    const params: Record<string, unknown> = { name };
    const where = this.range(from, to, params);
    const [row] = await this.rows<{ rank: number; of: number; value: number }>(
      `SELECT rank, of, value FROM (
         SELECT name, value, rank() OVER (ORDER BY value DESC) AS rank, count() OVER () AS of
         FROM (SELECT ${COLUMN[dimension]} AS name, ${leaderboardRollupSql(measure)} AS value FROM lt_rollup_minute WHERE ${where} GROUP BY name)
       ) WHERE name = {name:String}`,
      params,
    );
    return row ? { rank: row.rank, of: row.of, value: row.value } : null;
  }
}
