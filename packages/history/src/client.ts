import { createClient, type ClickHouseClient } from '@clickhouse/client';

export interface HistoryClientOptions {
  url: string;
  username?: string;
  password?: string;
  database?: string;
  requestTimeoutMs?: number;
}

/**
 * One client for a ClickHouse server and the local chDB stand-in alike. Output
 * settings are explicit so both answer 64-bit integers the same way (as strings).
 */
export function createHistoryClient(options: HistoryClientOptions): ClickHouseClient {
  return createClient({
    url: options.url,
    username: options.username ?? 'default',
    password: options.password ?? '',
    database: options.database ?? 'default',
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: {
      output_format_json_quote_64bit_integers: 1,
      date_time_output_format: 'simple',
    },
  });
}
