import type { ClickHouseClient } from '@clickhouse/client';
import {
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURE_NAMES,
  MEASURES,
  type LeaderboardMeasure,
} from '@livetally/events';
import { queryInChunks } from './client';
import { campaignSliceWhere, type BackfillSlice } from './campaign-backfill';
import { UP_TO, upToParams, type ScopeTotalsText } from './event-history';
import { scopeColumn } from './rows';
import { VIEWER_ROWS, leaderboardSql } from './counting-sql';
import { HLL_REGISTER_COUNT, hllRegisterSelect } from './hyperloglog-sql';
import { DIMENSION_SCOPE_KINDS, MEASURE_SUMS, perScopeSql, type PerScopeQuery } from './scope-sql';

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

/** Per scope of a selection: the registers of its unique-viewer HyperLogLog (index → rank, 0 where no viewer hashed there). */
export type RegisterRow = { scope: string; registers: Uint8Array };

export class LiveHistory {
  constructor(private readonly client: ClickHouseClient) {}

  /** Which scopes a selection's rows count in, and which rows; values go to `params`. */
  private scoped(sel: LiveSelection, params: Record<string, unknown>): Pick<PerScopeQuery, 'scopes' | 'where'> {
    if (sel.scopes === 'campaign') {
      params.scope = sel.scope;
      return { scopes: { fixed: '{scope:String}' }, where: campaignSliceWhere(sel.slice, params) };
    }
    Object.assign(params, { topic: sel.topic, ...upToParams(sel.upTo) });
    return { scopes: { kinds: sel.kinds ?? DIMENSION_SCOPE_KINDS }, where: UP_TO };
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
    const rs = await this.client.query({
      query: perScopeSql({ ...this.scoped(sel, params), aggregates: MEASURE_SUMS }),
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
    const { scopes, where } = this.scoped(sel, params);
    return this.stream(
      perScopeSql({
        scopes,
        where: `${where} AND toUnixTimestamp64Milli(ts) >= {since:Int64}`,
        keys: [{ expr: 'toUnixTimestamp(toStartOfMinute(ts)) * 1000', name: 't' }],
        aggregates: MEASURE_SUMS,
      }),
      params,
      chunkSize,
      (row) => ({ scope: String(row.scope), t: Number(row.t), totals: textTotals(row) }),
      onChunk,
    );
  }

  /**
   * Streams the distinct (scope, host id) pairs of the selection, for the active-host
   * HyperLogLogs: about one per host and scope kind, plus one per stream. TabSeparated
   * rather than JSON: parsing JSON per row costs the client more than ClickHouse spends
   * producing it.
   */
  async forEachActiveHost(
    sel: LiveSelection,
    chunkSize: number,
    onChunk: (pairs: [scope: string, id: string][]) => Promise<void>,
  ): Promise<number> {
    if (this.empty(sel)) return 0;
    const params: Record<string, unknown> = {};
    return queryInChunks(
      this.client,
      {
        query: perScopeSql({ ...this.scoped(sel, params), keys: [{ expr: 'host_id', name: 'id' }], aggregates: [] }),
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
   * Streams, per scope of the selection, the registers its unique-viewer HyperLogLog has
   * when every viewer id of its rows is PFADDed (hyperloglog-sql.ts), `chunkScopes` scopes
   * at a time; returns how many scopes. The answer is at most 16,384 registers per scope
   * however many views there were.
   */
  async forEachViewerHyperLogLog(
    sel: LiveSelection,
    chunkScopes: number,
    onChunk: (rows: RegisterRow[]) => Promise<void>,
  ): Promise<number> {
    if (this.empty(sel)) return 0;
    const params: Record<string, unknown> = {};
    const { scopes, where } = this.scoped(sel, params);
    const perRegister = perScopeSql({
      scopes,
      // The hash is computed for the selected rows only; of *, only the columns grouped by are read.
      from: `(SELECT *, ${hllRegisterSelect(VIEWER_ROWS.column)} FROM lt_events WHERE (${where}) AND ${VIEWER_ROWS.where})`,
      where: '1',
      keys: [{ expr: 'hll_index', name: 'register' }],
      aggregates: [{ inner: 'max(hll_rank)', alias: 'r_rank', outer: 'max(r_rank)', name: 'rank' }],
    });
    return this.stream(
      `SELECT scope, groupArray(register) AS registers, groupArray(rank) AS ranks FROM (${perRegister}) GROUP BY scope`,
      params,
      chunkScopes,
      (row) => {
        const registers = new Uint8Array(HLL_REGISTER_COUNT);
        const indexes = row.registers as (number | string)[];
        const ranks = row.ranks as (number | string)[];
        for (let i = 0; i < indexes.length; i++) registers[Number(indexes[i])] = Number(ranks[i]);
        return { scope: String(row.scope), registers };
      },
      onChunk,
    );
  }

  /**
   * The leaderboards of the selection's parent (`all` for dimensions, the campaign
   * otherwise): per dimension and member, every leaderboard measure. Summed per
   * combination of the ranked columns first, then per member.
   */
  async rankings(sel: LiveSelection): Promise<RankingRow[]> {
    if (this.empty(sel)) return [];
    const params: Record<string, unknown> = {};
    const { where } = this.scoped(sel, params);
    const columns = [...new Set(RANK_COLUMNS.map(([, c]) => c))];
    const sums = LEADERBOARD_MEASURE_NAMES.map((m) => `${leaderboardSql(m)} AS r_${m}`);
    const rs = await this.client.query({
      query: `SELECT d.1 AS dimension, d.2 AS member, ${LEADERBOARD_MEASURE_NAMES.map((m) => `sum(r_${m}) AS ${m}`).join(', ')}
        FROM (SELECT ${[...columns, ...sums].join(', ')} FROM lt_events WHERE ${where} GROUP BY ${columns.join(', ')})
        ARRAY JOIN [${RANK_COLUMNS.map(([d, c]) => `('${d}', CAST(${c} AS String))`).join(', ')}] AS d
        GROUP BY dimension, member`,
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
