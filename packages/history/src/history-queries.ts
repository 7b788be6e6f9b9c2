import type { ClickHouseClient } from '@clickhouse/client';
import {
  MEASURES as MEASURE_NAMES,
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURE_NAMES,
  type LeaderboardDimension,
  type LeaderboardMeasure,
  type MeasureTotals,
} from '@livetally/events';
import { ROLLUP_SUMS, leaderboardRollupSql, rollupColumn } from './counting-sql';
import { filledRollups } from './rollup-fill';
import { ROLLUPS, planRollups, type Rollup, type RollupNeeds } from './rollups';
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

/**
 * The answer's measures over rows that keep host_id, or the distinct hosts as a uniqExact
 * state `hosts` (the hour rollup's rows, and the parts several rollups give, partialMeasures).
 */
function measures(hosts: 'host_id' | 'hosts'): string {
  return `${ROLLUP_SUMS},
  sum(${rollupColumn('salesFen')}) - sum(${rollupColumn('refundsFen')}) AS netSalesFen,
  uniqMerge(viewers) AS uniqueViewers, ${hosts === 'host_id' ? 'uniqExact(host_id)' : 'uniqExactMerge(hosts)'} AS activeHosts`;
}

/** One rollup's part of the measures, for `measures('hosts')` to combine with the other parts. */
function partialMeasures(rollup: Rollup): string {
  return `${MEASURE_NAMES.map((m) => `sum(${rollupColumn(m)}) AS ${rollupColumn(m)}`).join(', ')},
  uniqMergeState(viewers) AS viewers, ${rollup.hostColumn ? 'uniqExactState(host_id)' : 'uniqExactMergeState(hosts)'} AS hosts`;
}

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

export interface HistoryQueriesOptions {
  /** The rollups it may read, coarsest first, ending with the minute rollup (default: every rollup). */
  rollups?: readonly Rollup[];
  /** Told the tables each question reads, in order. */
  onPlan?: (tables: string[]) => void;
}

/** One rollup's FROM … WHERE … for a part of the range. */
interface Source {
  rollup: Rollup;
  sql: string;
}

// How often a rollup not filled yet (just added by a migration still running) is looked for again.
const FILLED_RECHECK_MS = 10_000;

const BUCKET_FORMAT = `'%Y-%m-%dT%H:%i:%S', {tz:String}`;

/**
 * Reads only rollups, never raw events, so ranges of months stay fast: for each question
 * the coarsest rollup whose grain fits the range and that has the columns the question
 * needs, finer rollups for the unaligned edges (planRollups). Every choice gives the
 * answer the minute rollup gives: sums add up, and the unique-viewer and host states
 * merge to the same sets.
 */
export class HistoryQueries {
  private filled: { tables: Set<string>; at: number } | undefined;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: HistoryQueriesOptions = {},
  ) {}

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return (await rs.json<Record<string, string | number>>()).map((r) => toNumbers<T>(r));
  }

  /** The rollups it may read now: a fenced one once its fill is done. */
  private async available(): Promise<readonly Rollup[]> {
    const allowed = this.options.rollups ?? ROLLUPS;
    const fenced = allowed.filter((r) => r.fenced);
    const missing = fenced.some((r) => !this.filled?.tables.has(r.table));
    if (missing && (!this.filled || Date.now() - this.filled.at > FILLED_RECHECK_MS)) {
      const tables = await filledRollups(this.client);
      this.filled = { tables, at: Date.now() };
    }
    return allowed.filter((r) => !r.fenced || this.filled!.tables.has(r.table));
  }

  /** The rollups that answer the question over [from, to), each with its range and the subject; values go to `params`. */
  private async sources(
    needs: RollupNeeds,
    subject: HistorySubject,
    from: number,
    to: number,
    params: Record<string, unknown>,
  ): Promise<Source[]> {
    const segments = planRollups(await this.available(), needs, from, to);
    this.options.onPlan?.(segments.map((s) => s.rollup.table));
    const about = subjectWhere(subject, params);
    return segments.map(({ rollup, from: start, to: end }, i) => {
      Object.assign(params, { [`from${i}`]: start, [`to${i}`]: end });
      const range = [
        `${rollup.grain} >= toDateTime({from${i}:UInt32})`,
        `${rollup.grain} < toDateTime({to${i}:UInt32})`,
      ];
      return { rollup, sql: `FROM ${rollup.table} WHERE ${[...range, ...about].join(' AND ')}` };
    });
  }

  /** Totals over [from, to) — a campaign's window, a day, any range. */
  async totals(subject: HistorySubject, from: number, to: number): Promise<HistoryMeasures> {
    const params: Record<string, unknown> = {};
    const sources = await this.sources({ host: subject.kind === 'host' }, subject, from, to, params);
    const [only] = sources;
    const query =
      sources.length === 1
        ? `SELECT ${measures(hostsIn(only!.rollup))} ${only!.sql}`
        : `SELECT ${measures('hosts')} FROM (${sources.map((s) => `SELECT ${partialMeasures(s.rollup)} ${s.sql}`).join(' UNION ALL ')})`;
    const [row] = await this.rows<HistoryMeasures>(query, params);
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
    const needs = { host: subject.kind === 'host', series: { granularity, timeZone } };
    const sources = await this.sources(needs, subject, from, to, params);
    const bucketOf = (column: string) =>
      ({
        minute: `toStartOfMinute(${column})`,
        hour: `toStartOfHour(toTimeZone(${column}, {tz:String}))`,
        day: `toStartOfDay(toTimeZone(${column}, {tz:String}))`,
      })[granularity];
    const [only] = sources;
    const query =
      sources.length === 1
        ? `SELECT formatDateTime(${bucketOf(only!.rollup.grain)}, ${BUCKET_FORMAT}) AS bucket, ${measures(hostsIn(only!.rollup))} ${only!.sql} GROUP BY bucket ORDER BY bucket`
        : `SELECT formatDateTime(b, ${BUCKET_FORMAT}) AS bucket, ${measures('hosts')} FROM (${sources
            .map((s) => `SELECT ${bucketOf(s.rollup.grain)} AS b, ${partialMeasures(s.rollup)} ${s.sql} GROUP BY b`)
            .join(' UNION ALL ')}) GROUP BY bucket ORDER BY bucket`;
    return this.rows(query, params);
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
    const needs = { host: dimension === 'host' || subject.kind === 'host' };
    const sources = await this.sources(needs, subject, from, to, params);
    return this.rows(
      `${ranked(dimension, measure, sources)} ORDER BY value DESC, name ASC LIMIT {limit:UInt32}`,
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
    const sources = await this.sources({ host: dimension === 'host' }, { kind: 'all' }, from, to, params);
    const [row] = await this.rows<{ rank: number; of: number; value: number }>(
      `SELECT rank, of, value FROM (
         SELECT name, value, rank() OVER (ORDER BY value DESC) AS rank, count() OVER () AS of
         FROM (${ranked(dimension, measure, sources)})
       ) WHERE name = {name:String}`,
      params,
    );
    return row ? { rank: row.rank, of: row.of, value: row.value } : null;
  }
}

function hostsIn(rollup: Rollup): 'host_id' | 'hosts' {
  return rollup.hostColumn ? 'host_id' : 'hosts';
}

/** `SELECT name, value … GROUP BY name`: each member of the dimension and its measure over the sources. */
function ranked(dimension: RankDimension, measure: RankMeasure, sources: Source[]): string {
  const one = (s: Source, alias: string) =>
    `SELECT ${COLUMN[dimension]} AS name, ${leaderboardRollupSql(measure)} AS ${alias} ${s.sql} GROUP BY name`;
  if (sources.length === 1) return one(sources[0]!, 'value');
  return `SELECT name, sum(part) AS value FROM (${sources.map((s) => one(s, 'part')).join(' UNION ALL ')}) GROUP BY name`;
}
