import type { CampaignService } from '@livetally/campaigns';
import type { HistoryQueries } from '@livetally/history';

/** The history reads the gateway makes; HistoryQueries in production (rollups only), a fake in unit tests. */
export type HistoryReader = Pick<HistoryQueries, 'totals' | 'series' | 'top' | 'rankOf'>;

/** Campaign operations behind /v1/campaigns; CampaignService in production. */
export type CampaignApi = Pick<CampaignService, 'list' | 'get' | 'create' | 'replace' | 'end'>;

/** Response formats POST /v1/sql offers, with the content type each is sent as. */
export const SQL_FORMATS = {
  JSON: 'application/json; charset=utf-8',
  JSONCompact: 'application/json; charset=utf-8',
  JSONEachRow: 'application/x-ndjson; charset=utf-8',
  CSVWithNames: 'text/csv; charset=utf-8',
  TabSeparatedWithNames: 'text/tab-separated-values; charset=utf-8',
} as const;
export type SqlFormat = keyof typeof SQL_FORMATS;

/** A query judged by the engine's parse: the statement to run, or why it is refused. */
export type SqlVetting = { ok: true; statement: string } | { ok: false; refusal: string; reason: string };

/**
 * Engineers' SQL: `vet` judges a query from ClickHouse's own parse; `run` runs a vetted
 * statement under the configured limits and returns the response text exactly as
 * ClickHouse produced it. Failures are thrown as ClickHouse errors (an Error with a
 * numeric-string `code` and a `type`), as GatewayErrors, or as connection errors.
 */
export interface SqlRunner {
  vet(query: string): Promise<SqlVetting>;
  run(statement: string, format: SqlFormat): Promise<string>;
}
