import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { parseScope, type MeasureTotals } from '@livetally/events';
import { MEASURE_SELECT } from './counting-sql';
import { queryInChunks, type StreamedRow } from './client';
import type { EventRow } from './rows';
import { EVENT_ROW_COLUMNS, SCOPE_COLUMN_KINDS, encodeRowsTsv, scopeColumn } from './rows';
import { MEASURE_SUMS, perScopeSql } from './scope-sql';

export interface HistoryObserver {
  onInsert?(durationMs: number, rows: number): void;
}

/** Cumulative measures as ClickHouse computes them, same shape as the live totals. */
export type HistoryTotals = MeasureTotals;

const MEASURES = `
    ${MEASURE_SELECT}`;

const TOTALS_SELECT = `
  SELECT${MEASURES}
  FROM lt_events`;

/** Scope kinds history can total: `all` and every kind with a column (not campaign). */
export const HISTORY_SCOPE_KINDS: readonly string[] = ['all', ...SCOPE_COLUMN_KINDS];

// Rows of one topic at or below a per-partition offset (partitions absent from the cut: none);
// parameters from upToParams. transform() looks the partition up in a hash table: a Map
// parameter's lookup (mapContains, m[k]) searched its keys row by row, and cost more than
// the rest of a scan (0.5 s of 0.6 s over 5.7 million rows).
export const UP_TO = `topic = {topic:String}
    AND has({upToPartitions:Array(UInt16)}, kafka_partition)
    AND kafka_offset <= transform(kafka_partition, {upToPartitions:Array(UInt16)}, {upToOffsets:Array(UInt64)}, toUInt64(0))`;

/** Totals per scope as exact integer text, keyed like the live totals. */
export type ScopeTotalsText = Record<keyof HistoryTotals, string>;

/** What a platform-resend fingerprint is made of, for rows restored into Redis. */
export interface StoredEventKey {
  platform: string;
  eventId: string;
  ts: number;
  partition: number;
  offset: string;
}

/** The query parameters of UP_TO for a cut (partition → last included offset). */
export function upToParams(upTo: ReadonlyMap<number, string>): { upToPartitions: number[]; upToOffsets: bigint[] } {
  return { upToPartitions: [...upTo.keys()], upToOffsets: [...upTo.values()].map((o) => BigInt(o)) };
}

export class EventHistory {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly observer: HistoryObserver = {},
  ) {}

  /**
   * Inserts one batch. The token names the exact offset range, so a retry of the
   * same range after a crash is dropped by ClickHouse instead of counted twice.
   */
  async insertEvents(rows: readonly EventRow[], deduplicationToken: string): Promise<void> {
    if (rows.length === 0) return;
    const started = performance.now();
    const clickhouse_settings = {
      insert_deduplication_token: deduplicationToken,
      insert_deduplicate: 1,
      deduplicate_blocks_in_dependent_materialized_views: 1,
    } as const;
    const tsv = encodeRowsTsv(rows);
    if (tsv !== null) {
      // One chunk: the request body is exactly these bytes (no per-row JSON objects).
      await this.client.insert({
        table: 'lt_events',
        columns: [...EVENT_ROW_COLUMNS],
        values: Readable.from([Buffer.from(tsv)], { objectMode: false }),
        format: 'TabSeparated',
        clickhouse_settings,
      });
    } else {
      await this.client.insert({
        table: 'lt_events',
        values: rows as EventRow[],
        format: 'JSONEachRow',
        clickhouse_settings,
      });
    }
    this.observer.onInsert?.(performance.now() - started, rows.length);
  }

  async totals(scopeText: string): Promise<HistoryTotals> {
    const parsed = parseScope(scopeText);
    if (!parsed.ok) throw new Error(parsed.message);
    const { kind, value } = parsed.scope;
    const column = scopeColumn(kind);
    if (kind !== 'all' && !column) throw new Error(`history has no column for scope kind ${kind}`);
    const where = column ? ` WHERE ${column} = {value:String}` : '';
    const rs = await this.client.query({
      query: TOTALS_SELECT + where,
      query_params: { value },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<Record<keyof HistoryTotals, string>>();
    const out = {} as HistoryTotals;
    for (const [k, v] of Object.entries(row ?? {})) out[k as keyof HistoryTotals] = Number(v);
    return out;
  }

  /** Highest stored offset per partition of a topic. */
  async maxOffsets(topic: string): Promise<Map<number, string>> {
    const rs = await this.client.query({
      query:
        'SELECT kafka_partition AS p, toString(max(kafka_offset)) AS o FROM lt_events WHERE topic = {topic:String} GROUP BY kafka_partition',
      query_params: { topic },
      format: 'JSONEachRow',
    });
    return new Map((await rs.json<{ p: number | string; o: string }>()).map((r) => [Number(r.p), r.o]));
  }

  /**
   * Each partition's totals of every scope of every kind in HISTORY_SCOPE_KINDS over the
   * topic's rows at or below `upTo` (partition → last included offset), in one pass (per
   * combination of the scope columns, then per scope: scope-sql.ts): partition → scope →
   * totals; `onlyScopes` restricts the answer to those scopes. What rebuild restores and
   * reconcile compares each partition's Redis share against (ADR 0003).
   */
  async totalsByPartition(
    topic: string,
    upTo: ReadonlyMap<number, string>,
    onlyScopes?: readonly string[],
  ): Promise<Map<number, Map<string, ScopeTotalsText>>> {
    const out = new Map<number, Map<string, ScopeTotalsText>>();
    if (upTo.size === 0 || onlyScopes?.length === 0) return out;
    const rs = await this.client.query({
      query: perScopeSql({
        scopes: { kinds: HISTORY_SCOPE_KINDS },
        where: UP_TO,
        keys: [{ expr: 'kafka_partition', name: 'partition_n' }],
        aggregates: MEASURE_SUMS,
        ...(onlyScopes ? { scopeWhere: 'has({only:Array(String)}, scope)' } : {}),
      }),
      query_params: { topic, ...upToParams(upTo), ...(onlyScopes ? { only: [...onlyScopes] } : {}) },
      format: 'JSONEachRow',
    });
    // Streamed: on the campaign month there are some 650,000 (partition, scope) rows, and
    // the answer as one text (then parsed) would be held twice over.
    for await (const rows of rs.stream()) {
      for (const row of rows as StreamedRow[]) {
        const { scope, partition_n, ...totals } = row.json<
          ScopeTotalsText & { scope: string; partition_n: number | string }
        >();
        const p = Number(partition_n);
        let scopes = out.get(p);
        if (!scopes) out.set(p, (scopes = new Map()));
        scopes.set(
          scope,
          Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, String(v)])) as ScopeTotalsText,
        );
      }
    }
    return out;
  }

  /** Whether any row of the topic (of one of its partitions, when given) is stored. */
  async hasRows(topic: string, partition?: number): Promise<boolean> {
    const rs = await this.client.query({
      query:
        partition === undefined
          ? 'SELECT count() AS n FROM (SELECT 1 FROM lt_events WHERE topic = {topic:String} LIMIT 1)'
          : 'SELECT count() AS n FROM (SELECT 1 FROM lt_events WHERE topic = {topic:String} AND kafka_partition = {partition:UInt16} LIMIT 1)',
      query_params: partition === undefined ? { topic } : { topic, partition },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: string }>();
    return Number(row?.n ?? 0) > 0;
  }

  /**
   * Streams the resend fingerprints of rows at or below `upTo` that were stored within
   * `windowMs` before the newest of those rows of the same partition was, in chunks of
   * `chunkSize` (one pass over every partition of the cut); returns how many rows it saw.
   * Anchored at each partition's newest stored row rather than at now: how many rows
   * that is depends on the ingest rate and the window, not on how long ago ingest stopped
   * (Redis lost, workers waiting) or how long the rebuild took to get here.
   */
  async forEachRecentEventKey(
    topic: string,
    upTo: ReadonlyMap<number, string>,
    windowMs: number,
    chunkSize: number,
    onChunk: (keys: StoredEventKey[]) => Promise<void>,
  ): Promise<number> {
    if (upTo.size === 0) return 0;
    return queryInChunks(
      this.client,
      {
        // Each partition's first included ms (its newest row's less the window), looked up by transform().
        query: `WITH (SELECT (groupArray(p), groupArray(since)) FROM (
            SELECT kafka_partition AS p, toUnixTimestamp64Milli(max(ingested_at)) - toInt64({windowMs:UInt64}) AS since
            FROM lt_events WHERE ${UP_TO} GROUP BY kafka_partition)) AS window_start
        SELECT platform, event_id, toString(toUnixTimestamp64Milli(ts)) AS ts_ms, kafka_partition AS partition_n, toString(kafka_offset) AS offset_text
        FROM lt_events WHERE ${UP_TO}
          AND toUnixTimestamp64Milli(ingested_at) >= transform(kafka_partition, window_start.1, window_start.2, toInt64(0))`,
        query_params: { topic, ...upToParams(upTo), windowMs },
      },
      chunkSize,
      (row): StoredEventKey => {
        const r = row.json<{
          platform: string;
          event_id: string;
          ts_ms: string;
          partition_n: number | string;
          offset_text: string;
        }>();
        return {
          platform: r.platform,
          eventId: r.event_id,
          ts: Number(r.ts_ms),
          partition: Number(r.partition_n),
          offset: r.offset_text,
        };
      },
      onChunk,
    );
  }

  async rowCount(): Promise<number> {
    const rs = await this.client.query({ query: 'SELECT count() AS n FROM lt_events', format: 'JSONEachRow' });
    const [row] = await rs.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }
}
