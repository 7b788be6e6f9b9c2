import type { ClickHouseClient } from '@clickhouse/client';
import { DIMENSION_KINDS, MEASURES, type DimensionKind, type LeaderboardMeasure } from '@livetally/events';
import { queryInChunks } from './client';
import { campaignSliceWhere, type BackfillSlice } from './campaign-backfill';
import { UP_TO, upToParams, type ScopeTotalsText } from './event-history';
import { scopeColumn } from './rows';
import { MEASURE_SELECT, VIEWER_ROWS } from './counting-sql';
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

/**
 * One combination of the scope columns among one Kafka partition's rows of a selection
 * (a stream, with its host, city, district, category and platform) and what those rows
 * add up to.
 */
export interface CombinationRow {
  /** The Kafka partition the rows are of (ADR 0003: each partition's share is its own). */
  partition: number;
  /** Per dimension kind (city, district, category, platform, host, stream): the rows' value. */
  values: Record<DimensionKind, string>;
  totals: ScopeTotalsText;
}

const COMBINATION_COLUMNS = DIMENSION_KINDS.map((k) => scopeColumn(k)!);

/**
 * Per scope and Kafka partition of a selection: the registers of the unique-viewer
 * HyperLogLog of that partition's rows (index → rank, 0 where no viewer hashed there).
 */
export type RegisterRow = { scope: string; partition: number; registers: Uint8Array };

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
   * Streams the combinations of the scope columns among the selection's rows with their
   * totals, per Kafka partition (one pass over every partition of the cut, grouped by
   * partition and those columns): what active hosts, leaderboards and a campaign's totals
   * are derived from (CombinationSums) without a query each. TabSeparated: at the month's
   * scale this is one row per stream (a stream's events normally share a partition),
   * hundreds of thousands.
   */
  async forEachCombination(
    sel: LiveSelection,
    chunkSize: number,
    onChunk: (rows: CombinationRow[]) => Promise<void>,
  ): Promise<number> {
    if (this.empty(sel)) return 0;
    const params: Record<string, unknown> = {};
    const { where } = this.scoped(sel, params);
    const columns = COMBINATION_COLUMNS.join(', ');
    return queryInChunks(
      this.client,
      {
        query: `SELECT kafka_partition, ${columns}, ${MEASURE_SELECT} FROM lt_events WHERE ${where} GROUP BY kafka_partition, ${columns}`,
        query_params: params,
        format: 'TabSeparated',
      },
      chunkSize,
      (row): CombinationRow => {
        const fields = row.text.split('\t');
        const values = {} as Record<DimensionKind, string>;
        DIMENSION_KINDS.forEach((k, i) => (values[k] = unescapeTsv(fields[i + 1]!)));
        const totals = {} as ScopeTotalsText;
        MEASURES.forEach((m, i) => (totals[m] = fields[DIMENSION_KINDS.length + 1 + i]!));
        return { partition: Number(fields[0]), values, totals };
      },
      onChunk,
    );
  }

  /**
   * Streams, per scope and Kafka partition of the selection (one pass over every partition
   * of the cut), the registers the unique-viewer HyperLogLog of that partition's rows has
   * when every viewer id of them is PFADDed (hyperloglog-sql.ts), `chunkScopes` rows at a
   * time; returns how many (scope, partition) rows. The answer is at most 16,384 registers
   * per row however many views there were.
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
      keys: [
        { expr: 'kafka_partition', name: 'partition_n' },
        { expr: 'hll_index', name: 'register' },
      ],
      aggregates: [{ inner: 'max(hll_rank)', alias: 'r_rank', outer: 'max(r_rank)', name: 'rank' }],
    });
    return this.stream(
      `SELECT scope, partition_n, groupArray(register) AS registers, groupArray(rank) AS ranks FROM (${perRegister}) GROUP BY scope, partition_n`,
      params,
      chunkScopes,
      (row) => {
        const registers = new Uint8Array(HLL_REGISTER_COUNT);
        const indexes = row.registers as (number | string)[];
        const ranks = row.ranks as (number | string)[];
        for (let i = 0; i < indexes.length; i++) registers[Number(indexes[i])] = Number(ranks[i]);
        return { scope: String(row.scope), partition: Number(row.partition_n), registers };
      },
      onChunk,
    );
  }
}
