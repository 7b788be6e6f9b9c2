import type { ClickHouseClient } from '@clickhouse/client';
import { LEADERBOARD_DIMENSIONS, LEADERBOARD_MEASURE_NAMES } from '@livetally/events';
import { queryInChunks } from './client';
import { UP_TO, upToParams } from './event-history';
import { MEASURE_SELECT, VIEWER_ROWS, leaderboardSql } from './counting-sql';
import { scopeColumn } from './rows';

/** The slice of stored events a campaign backfill recomputes. */
export interface BackfillSlice {
  topic: string;
  /** Applied offsets at the campaign's cut; rows above them are counted live. */
  upTo: ReadonlyMap<number, string>;
  startsAt: number;
  endsAt: number;
  filters: { cities?: string[]; districts?: string[]; categories?: string[]; platforms?: string[] };
}

export interface BackfillAggregates {
  totals: Record<string, number>;
  /** Per event minute (ms), only minutes at or after `sinceMinute`. */
  minutes: { t: number; totals: Record<string, number> }[];
  /** dimension → measure → member → value. */
  rankings: Record<string, Record<string, Record<string, number>>>;
  hosts: string[];
}

/** Leaderboard dimensions and the column each ranks by. */
const RANK_COLUMNS: [string, string][] = LEADERBOARD_DIMENSIONS.map((d) => [d, scopeColumn(d)!]);
const RANK_SELECT = LEADERBOARD_MEASURE_NAMES.map((m) => `${leaderboardSql(m)} AS ${m}`).join(', ');

function numbers(row: Record<string, string | number>): Record<string, number> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/**
 * The WHERE clause selecting a campaign's rows up to a cut (its window and filters),
 * with its values added to `params` as query parameters, never spliced into the SQL.
 */
export function campaignSliceWhere(slice: BackfillSlice, params: Record<string, unknown>): string {
  Object.assign(params, { topic: slice.topic, ...upToParams(slice.upTo), from: slice.startsAt, to: slice.endsAt });
  const parts = [UP_TO, 'toUnixTimestamp64Milli(ts) >= {from:Int64}', 'toUnixTimestamp64Milli(ts) < {to:Int64}'];
  const lists: [keyof BackfillSlice['filters'], string][] = [
    ['cities', 'city'],
    ['districts', 'district'],
    ['categories', 'category'],
    ['platforms', 'platform'],
  ];
  for (const [key, column] of lists) {
    const values = slice.filters[key];
    if (values && values.length > 0) {
      params[`f_${column}`] = values;
      parts.push(`${column} IN {f_${column}:Array(String)}`);
    }
  }
  return parts.join(' AND ');
}

/** Reads what a campaign covered up to its cut, from raw events (the rollups carry no offsets). */
export class CampaignBackfillQueries {
  constructor(private readonly client: ClickHouseClient) {}

  private where(slice: BackfillSlice, params: Record<string, unknown>): string {
    return campaignSliceWhere(slice, params);
  }

  private async rows(query: string, params: Record<string, unknown>): Promise<Record<string, string | number>[]> {
    const rs = await this.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<Record<string, string | number>>();
  }

  async aggregates(slice: BackfillSlice, sinceMinute: number): Promise<BackfillAggregates> {
    if (slice.upTo.size === 0) return { totals: {}, minutes: [], rankings: {}, hosts: [] };
    const params: Record<string, unknown> = { since: sinceMinute };
    const where = this.where(slice, params);
    const [totals] = await this.rows(`SELECT ${MEASURE_SELECT} FROM lt_events WHERE ${where}`, params);
    const minutes = await this.rows(
      `SELECT toUnixTimestamp(toStartOfMinute(ts)) * 1000 AS t, ${MEASURE_SELECT} FROM lt_events WHERE ${where} AND toUnixTimestamp64Milli(ts) >= {since:Int64} GROUP BY t ORDER BY t`,
      params,
    );
    const rankings: BackfillAggregates['rankings'] = {};
    for (const [dimension, column] of RANK_COLUMNS) {
      const rows = await this.rows(
        `SELECT ${column} AS name, ${RANK_SELECT} FROM lt_events WHERE ${where} GROUP BY name`,
        params,
      );
      const byMeasure = Object.fromEntries(LEADERBOARD_MEASURE_NAMES.map((m) => [m, {}])) as Record<
        string,
        Record<string, number>
      >;
      for (const r of rows)
        for (const m of LEADERBOARD_MEASURE_NAMES) if (Number(r[m]) !== 0) byMeasure[m]![String(r.name)] = Number(r[m]);
      rankings[dimension] = byMeasure;
    }
    const hosts = (await this.rows(`SELECT DISTINCT host_id AS h FROM lt_events WHERE ${where}`, params)).map((r) =>
      String(r.h),
    );
    return {
      totals: numbers(totals ?? {}),
      minutes: minutes.map(({ t, ...rest }) => ({ t: Number(t), totals: numbers(rest) })),
      rankings,
      hosts,
    };
  }

  /** Streams the distinct viewer ids of the slice in chunks, for the unique-viewer estimate. */
  async forEachViewerChunk(
    slice: BackfillSlice,
    chunkSize: number,
    onChunk: (viewers: string[]) => Promise<void>,
  ): Promise<number> {
    if (slice.upTo.size === 0) return 0;
    const params: Record<string, unknown> = {};
    const where = this.where(slice, params);
    return queryInChunks(
      this.client,
      {
        query: `SELECT DISTINCT ${VIEWER_ROWS.column} AS v FROM lt_events WHERE ${where} AND ${VIEWER_ROWS.where}`,
        query_params: params,
      },
      chunkSize,
      (row) => row.json<{ v: string }>().v,
      onChunk,
    );
  }
}
