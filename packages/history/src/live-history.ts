import type { ClickHouseClient } from '@clickhouse/client';
import {
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURE_NAMES,
  MEASURES,
  type LeaderboardMeasure,
} from '@livetally/events';
import { queryInChunks } from './client';
import { campaignSliceWhere, type BackfillSlice } from './campaign-backfill';
import { UP_TO, asBigIntMap, type ScopeTotalsText } from './event-history';
import { SCOPE_COLUMN_KINDS, scopeColumn } from './rows';
import { MEASURE_SELECT, VIEWER_ROWS, leaderboardSql } from './counting-sql';

/**
 * What a rebuild of the live state reads from ClickHouse beyond cumulative totals —
 * minute buckets, the ids behind the HyperLogLogs, leaderboards — for a set of rows
 * fixed by a cut (per-partition offsets), either every dimension scope at once or
 * one campaign (its window and filters, the same WHERE as the campaign backfill).
 * Every value reaches ClickHouse as a query parameter; kinds and columns are
 * constants of this package.
 */
export type LiveSelection =
  /** Dimension scopes (`all`, `city:…`, …): each row counted once per scope of these kinds. */
  | { scopes: 'dimensions'; topic: string; upTo: ReadonlyMap<number, string>; kinds?: readonly string[] }
  /** One campaign scope (`campaign:<id>`), rows matched by its window and filters. */
  | { scopes: 'campaign'; scope: string; slice: BackfillSlice };

export interface MinuteBucketRow {
  scope: string;
  /** Start of the event minute, ms since epoch. */
  t: number;
  /** Total field → exact integer text (zero fields included). */
  totals: ScopeTotalsText;
}

/** One member's leaderboard values in one dimension (exact integer text per leaderboard measure). */
export type RankingRow = { dimension: string; member: string } & Record<LeaderboardMeasure, string>;

/** Leaderboard dimensions and the column each ranks by. */
const RANK_COLUMNS: [string, string][] = LEADERBOARD_DIMENSIONS.map((d) => [d, scopeColumn(d)!]);

/** Every dimension scope kind, `all` first. */
export const DIMENSION_SCOPE_KINDS: readonly string[] = ['all', ...SCOPE_COLUMN_KINDS];

function scopeArray(kinds: readonly string[]): string {
  const parts = kinds.map((k) => {
    if (k === 'all') return `'all'`;
    const column = scopeColumn(k);
    if (!column)
      throw new Error(`no dimension scope kind ${JSON.stringify(k)}; expected ${DIMENSION_SCOPE_KINDS.join(', ')}`);
    return `concat('${k}:', ${column})`;
  });
  if (parts.length === 0) throw new Error('no scope kinds selected');
  return `[${parts.join(', ')}]`;
}

const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\',
  t: '\t',
  n: '\n',
  r: '\r',
  '0': '\0',
  b: '\b',
  f: '\f',
  "'": "'",
};

/** Undoes ClickHouse's TabSeparated escaping of one field. */
export function unescapeTsv(field: string): string {
  return field.includes('\\') ? field.replace(/\\(.)/g, (_, c: string) => TSV_ESCAPES[c] ?? c) : field;
}

function textTotals(row: Record<string, unknown>): ScopeTotalsText {
  const out = {} as ScopeTotalsText;
  for (const f of MEASURES) out[f] = String(row[f] ?? '0');
  return out;
}

export class LiveHistory {
  constructor(private readonly client: ClickHouseClient) {}

  /** FROM … WHERE … and the scope expression of a selection; values go to `params`. */
  private source(
    sel: LiveSelection,
    params: Record<string, unknown>,
    options: { perScope: boolean },
  ): { scope: string; from: string; where: string } {
    if (sel.scopes === 'campaign') {
      params.scope = sel.scope;
      return { scope: '{scope:String}', from: 'lt_events', where: campaignSliceWhere(sel.slice, params) };
    }
    Object.assign(params, { topic: sel.topic, upTo: asBigIntMap(sel.upTo) });
    if (!options.perScope) return { scope: `'all'`, from: 'lt_events', where: UP_TO };
    return {
      scope: 'scope',
      from: `lt_events ARRAY JOIN ${scopeArray(sel.kinds ?? DIMENSION_SCOPE_KINDS)} AS scope`,
      where: UP_TO,
    };
  }

  private empty(sel: LiveSelection): boolean {
    return (sel.scopes === 'campaign' ? sel.slice.upTo : sel.upTo).size === 0;
  }

  /** Streams a query's rows in chunks; returns how many rows there were. */
  private stream<T>(
    query: string,
    params: Record<string, unknown>,
    chunkSize: number,
    map: (row: Record<string, unknown>) => T,
    onChunk: (rows: T[]) => Promise<void>,
  ): Promise<number> {
    return queryInChunks(this.client, { query, query_params: params }, chunkSize, (row) => map(row.json()), onChunk);
  }

  /** Cumulative totals of every scope of the selection (exact integer text). */
  async totals(sel: LiveSelection): Promise<Map<string, ScopeTotalsText>> {
    const out = new Map<string, ScopeTotalsText>();
    if (this.empty(sel)) return out;
    const params: Record<string, unknown> = {};
    const src = this.source(sel, params, { perScope: true });
    const rs = await this.client.query({
      query: `SELECT ${src.scope} AS scope, ${MEASURE_SELECT} FROM ${src.from} WHERE ${src.where} GROUP BY scope`,
      query_params: params,
      format: 'JSONEachRow',
    });
    for (const row of await rs.json<Record<string, unknown>>()) out.set(String(row.scope), textTotals(row));
    return out;
  }

  /** Per-scope, per-event-minute totals of rows whose event time is at or after `sinceMs`. */
  async forEachMinuteBucket(
    sel: LiveSelection,
    sinceMs: number,
    chunkSize: number,
    onChunk: (rows: MinuteBucketRow[]) => Promise<void>,
  ): Promise<number> {
    if (this.empty(sel)) return 0;
    const params: Record<string, unknown> = { since: sinceMs };
    const src = this.source(sel, params, { perScope: true });
    return this.stream(
      `SELECT ${src.scope} AS scope, toUnixTimestamp(toStartOfMinute(ts)) * 1000 AS t, ${MEASURE_SELECT}
        FROM ${src.from} WHERE ${src.where} AND toUnixTimestamp64Milli(ts) >= {since:Int64} GROUP BY scope, t`,
      params,
      chunkSize,
      (row) => ({ scope: String(row.scope), t: Number(row.t), totals: textTotals(row) }),
      onChunk,
    );
  }

  /**
   * Streams the distinct (scope, id) pairs of the selection: viewer ids of views
   * (unique viewers) or host ids of any event (active hosts). TabSeparated rather than
   * JSON: these answers are the largest a rebuild reads, and parsing JSON per row
   * costs the client more than ClickHouse spends producing them.
   */
  async forEachDistinct(
    sel: LiveSelection,
    what: 'viewers' | 'hosts',
    chunkSize: number,
    onChunk: (pairs: [scope: string, id: string][]) => Promise<void>,
  ): Promise<number> {
    if (this.empty(sel)) return 0;
    const params: Record<string, unknown> = {};
    const src = this.source(sel, params, { perScope: true });
    const [column, only] = what === 'viewers' ? [VIEWER_ROWS.column, ` AND ${VIEWER_ROWS.where}`] : ['host_id', ''];
    return queryInChunks(
      this.client,
      {
        query: `SELECT DISTINCT ${src.scope} AS scope, ${column} AS id FROM ${src.from} WHERE ${src.where}${only}`,
        query_params: params,
        format: 'TabSeparated',
      },
      chunkSize,
      (row): [string, string] => {
        const tab = row.text.indexOf('\t');
        return [unescapeTsv(row.text.slice(0, tab)), unescapeTsv(row.text.slice(tab + 1))];
      },
      onChunk,
    );
  }

  /**
   * The leaderboards of the selection's parent (`all` for dimensions, the campaign
   * otherwise): per dimension and member, every leaderboard measure.
   */
  async rankings(sel: LiveSelection): Promise<RankingRow[]> {
    if (this.empty(sel)) return [];
    const params: Record<string, unknown> = {};
    const src = this.source(sel, params, { perScope: false });
    const rs = await this.client.query({
      query: `SELECT d.1 AS dimension, d.2 AS member, ${LEADERBOARD_MEASURE_NAMES.map((m) => `${leaderboardSql(m)} AS ${m}`).join(', ')}
        FROM ${src.from} ARRAY JOIN [${RANK_COLUMNS.map(([d, c]) => `('${d}', CAST(${c} AS String))`).join(', ')}] AS d
        WHERE ${src.where} GROUP BY dimension, member`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return (await rs.json<Record<string, unknown>>()).map((r) => {
      const row = { dimension: String(r.dimension), member: String(r.member) } as RankingRow;
      for (const m of LEADERBOARD_MEASURE_NAMES) row[m] = String(r[m]);
      return row;
    });
  }
}
