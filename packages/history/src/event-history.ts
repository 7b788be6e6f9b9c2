import type { ClickHouseClient } from '@clickhouse/client';
import { parseScope } from '@livetally/events';
import type { EventRow } from './rows';
import { scopeColumn } from './rows';

export interface HistoryObserver {
  onInsert?(durationMs: number, rows: number): void;
}

/** Cumulative measures as ClickHouse computes them, same shape as the live totals. */
export interface HistoryTotals {
  views: number;
  sessions: number;
  sessionsEnded: number;
  salesFen: number;
  refundsFen: number;
  orders: number;
  items: number;
  refunds: number;
}

const TOTALS_SELECT = `
  SELECT
    countIf(type = 'view') AS views,
    countIf(type = 'stream_started') AS sessions,
    countIf(type = 'stream_ended') AS sessionsEnded,
    sumIf(amount_fen, type = 'sale') AS salesFen,
    sumIf(amount_fen, type = 'refund') AS refundsFen,
    countIf(type = 'sale') AS orders,
    sumIf(quantity, type = 'sale') AS items,
    countIf(type = 'refund') AS refunds
  FROM lt_events`;

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
    await this.client.insert({
      table: 'lt_events',
      values: rows as EventRow[],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: deduplicationToken, insert_deduplicate: 1 },
    });
    this.observer.onInsert?.(performance.now() - started, rows.length);
  }

  async totals(scopeText: string): Promise<HistoryTotals> {
    const parsed = parseScope(scopeText);
    if (!parsed.ok) throw new Error(parsed.message);
    const { kind, value } = parsed.scope;
    const column = scopeColumn(kind);
    if (kind !== 'all' && !column) throw new Error(`history has no column for scope kind ${kind}`);
    const where = column ? ` WHERE ${column} = {value:String}` : '';
    const rs = await this.client.query({ query: TOTALS_SELECT + where, query_params: { value }, format: 'JSONEachRow' });
    const [row] = await rs.json<Record<keyof HistoryTotals, string>>();
    const out = {} as HistoryTotals;
    for (const [k, v] of Object.entries(row ?? {})) out[k as keyof HistoryTotals] = Number(v);
    return out;
  }

  async rowCount(): Promise<number> {
    const rs = await this.client.query({ query: 'SELECT count() AS n FROM lt_events', format: 'JSONEachRow' });
    const [row] = await rs.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }
}
