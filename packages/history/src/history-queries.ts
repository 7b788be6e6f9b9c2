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
import { VIEWER_SKETCHES, sketchQuery, sketchRange, type SketchRange } from './viewer-sketches';

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
  /**
   * Estimated distinct viewers: ClickHouse `uniq` over the rollups' states, or, for a scope
   * the viewer sketches keep over whole Asia/Shanghai days, `uniqCombined(14)` (ADR 0004).
   */
  uniqueViewers: number;
  /** Distinct hosts with any event. */
  activeHosts: number;
}

const COLUMN = Object.fromEntries(RANK_DIMENSIONS.map((d) => [d, scopeColumn(d)!])) as Record<RankDimension, string>;

/**
 * The answer's measures over rows that keep host_id, or the distinct hosts as a uniqExact
 * state `hosts` (the hour rollup's rows, and the parts several rollups give, partialMeasures).
 */
function measures(hosts: 'host_id' | 'hosts', viewers: boolean): string {
  return `${ROLLUP_SUMS},
  sum(${rollupColumn('salesFen')}) - sum(${rollupColumn('refundsFen')}) AS netSalesFen,
  ${viewers ? 'uniqMerge(viewers) AS uniqueViewers, ' : ''}${hosts === 'host_id' ? 'uniqExact(host_id)' : 'uniqExactMerge(hosts)'} AS activeHosts`;
}

/** One rollup's part of the measures, for `measures('hosts', …)` to combine with the other parts. */
function partialMeasures(rollup: Rollup, viewers: boolean): string {
  return `${MEASURE_NAMES.map((m) => `sum(${rollupColumn(m)}) AS ${rollupColumn(m)}`).join(', ')},
  ${viewers ? 'uniqMergeState(viewers) AS viewers, ' : ''}${rollup.hostColumn ? 'uniqExactState(host_id)' : 'uniqExactMergeState(hosts)'} AS hosts`;
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
  /** Told the tables each question reads, in order (the viewer sketches last, when read). */
  onPlan?: (tables: string[]) => void;
  /** Read unique viewers from the viewer sketches where they can answer (ADR 0004); default true. */
  viewerSketches?: boolean;
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

  /** Which of `tables` (fenced ones) are filled, looked up again while one is not, at most every FILLED_RECHECK_MS. */
  private async filledOf(tables: readonly string[]): Promise<Set<string>> {
    const missing = tables.some((t) => !this.filled?.tables.has(t));
    if (missing && (!this.filled || Date.now() - this.filled.at > FILLED_RECHECK_MS))
      this.filled = { tables: await filledRollups(this.client), at: Date.now() };
    return this.filled?.tables ?? new Set();
  }

  /** The rollups it may read now: a fenced one once its fill is done. */
  private async available(): Promise<readonly Rollup[]> {
    const allowed = this.options.rollups ?? ROLLUPS;
    const filled = await this.filledOf(allowed.filter((r) => r.fenced).map((r) => r.table));
    return allowed.filter((r) => !r.fenced || filled.has(r.table));
  }

  /** The days whose viewer sketches answer the question's unique viewers; null: the rollups' states do. */
  private async sketches(
    subject: HistorySubject,
    from: number,
    to: number,
    series?: { granularity: Granularity; timeZone: string },
  ): Promise<SketchRange | null> {
    if (this.options.viewerSketches === false) return null;
    const range = sketchRange(subject, from, to, series);
    if (!range) return null;
    return (await this.filledOf([VIEWER_SKETCHES.table])).has(VIEWER_SKETCHES.table) ? range : null;
  }

  /** The rollups that answer the question over [from, to), each with its range and the subject; values go to `params`. */
  private async sources(
    needs: RollupNeeds,
    subject: HistorySubject,
    from: number,
    to: number,
    params: Record<string, unknown>,
    sketched: SketchRange | null = null,
  ): Promise<Source[]> {
    const segments = planRollups(await this.available(), needs, from, to);
    this.options.onPlan?.([...segments.map((s) => s.rollup.table), ...(sketched ? [VIEWER_SKETCHES.table] : [])]);
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
    const sketched = await this.sketches(subject, from, to);
    const sources = await this.sources({ host: subject.kind === 'host' }, subject, from, to, params, sketched);
    const viewers = !sketched;
    const [only] = sources;
    const query =
      sources.length === 1
        ? `SELECT ${measures(hostsIn(only!.rollup), viewers)} ${only!.sql}`
        : `SELECT ${measures('hosts', viewers)} FROM (${sources.map((s) => `SELECT ${partialMeasures(s.rollup, viewers)} ${s.sql}`).join(' UNION ALL ')})`;
    if (!sketched) return (await this.rows<HistoryMeasures>(query, params))[0]!;
    const sketch = sketchQuery(sketched, false, BUCKET_FORMAT);
    const [[row], [estimate]] = await Promise.all([
      this.rows<Omit<HistoryMeasures, 'uniqueViewers'>>(query, params),
      this.rows<{ uniqueViewers: number }>(sketch.query, sketch.params),
    ]);
    return withViewers(row!, estimate?.uniqueViewers ?? 0);
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
    const sketched = await this.sketches(subject, from, to, needs.series);
    const viewers = !sketched;
    const sources = await this.sources(needs, subject, from, to, params, sketched);
    const bucketOf = (column: string) =>
      ({
        minute: `toStartOfMinute(${column})`,
        hour: `toStartOfHour(toTimeZone(${column}, {tz:String}))`,
        day: `toStartOfDay(toTimeZone(${column}, {tz:String}))`,
      })[granularity];
    const [only] = sources;
    const query =
      sources.length === 1
        ? `SELECT formatDateTime(${bucketOf(only!.rollup.grain)}, ${BUCKET_FORMAT}) AS bucket, ${measures(hostsIn(only!.rollup), viewers)} ${only!.sql} GROUP BY bucket ORDER BY bucket`
        : `SELECT formatDateTime(b, ${BUCKET_FORMAT}) AS bucket, ${measures('hosts', viewers)} FROM (${sources
            .map(
              (s) =>
                `SELECT ${bucketOf(s.rollup.grain)} AS b, ${partialMeasures(s.rollup, viewers)} ${s.sql} GROUP BY b`,
            )
            .join(' UNION ALL ')}) GROUP BY bucket ORDER BY bucket`;
    if (!sketched) return this.rows(query, params);
    const sketch = sketchQuery(sketched, true, BUCKET_FORMAT);
    const [rows, estimates] = await Promise.all([
      this.rows<Omit<HistoryMeasures, 'uniqueViewers'> & { bucket: string }>(query, params),
      this.rows<{ bucket: string; uniqueViewers: number }>(sketch.query, { ...sketch.params, tz: timeZone }),
    ]);
    const byBucket = new Map(estimates.map((e) => [e.bucket, e.uniqueViewers]));
    return rows.map((r) => withViewers(r, byBucket.get(r.bucket) ?? 0));
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

/** A row of measures read without viewers, with the sketches' estimate in the answer's usual place. */
function withViewers<T extends Omit<HistoryMeasures, 'uniqueViewers'>>(
  row: T,
  uniqueViewers: number,
): T & { uniqueViewers: number } {
  const { activeHosts, ...rest } = row;
  return { ...rest, uniqueViewers, activeHosts } as T & { uniqueViewers: number };
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
