import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { SqlFormat, SqlRunner } from './types';

export interface SqlLimits {
  maxSeconds: number;
  maxRows: number;
  maxMemoryBytes: number;
}

export interface SqlClientOptions {
  url: string;
  username: string;
  password: string;
  database: string;
}

/**
 * A client of its own for engineers' queries, so a slow query never holds a connection
 * the history API needs. Its log is off: refused queries are answered to the caller and
 * counted in metrics, not printed.
 */
export function createSqlClient(options: SqlClientOptions, limits: SqlLimits): ClickHouseClient {
  return createClient({
    url: options.url,
    username: options.username,
    password: options.password,
    database: options.database,
    // Longer than max_execution_time, so ClickHouse's own TIMEOUT_EXCEEDED answers first.
    request_timeout: (limits.maxSeconds + 10) * 1000,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1, date_time_output_format: 'simple' },
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * Runs vetted statements with readonly=1 (ClickHouse refuses any write or settings change
 * itself, whatever slipped past the guard) and the configured limits. wait_end_of_query
 * makes a real server buffer the result, so a limit hit mid-result is an error status
 * instead of a truncated 200.
 */
export class ClickHouseSqlRunner implements SqlRunner {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly limits: SqlLimits,
  ) {}

  async run(query: string, format: SqlFormat): Promise<string> {
    const rs = await this.client.query({
      query,
      format,
      clickhouse_settings: {
        readonly: '1',
        max_execution_time: this.limits.maxSeconds,
        max_result_rows: String(this.limits.maxRows),
        result_overflow_mode: 'throw',
        max_memory_usage: String(this.limits.maxMemoryBytes),
        wait_end_of_query: 1,
      },
    });
    return rs.text();
  }
}
