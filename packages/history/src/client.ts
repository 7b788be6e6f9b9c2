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

/** One streamed result row: its text, or (JSONEachRow) the object it encodes. */
export interface StreamedRow {
  readonly text: string;
  json<T>(): T;
}

/**
 * Runs a query and hands its rows to `onChunk` in chunks of `chunkSize` as they stream
 * in, so restores and backfills never hold a whole result; returns how many rows there were.
 */
export async function queryInChunks<T>(
  client: ClickHouseClient,
  query: { query: string; query_params: Record<string, unknown>; format?: 'JSONEachRow' | 'TabSeparated' },
  chunkSize: number,
  map: (row: StreamedRow) => T,
  onChunk: (rows: T[]) => Promise<void>,
): Promise<number> {
  const rs = await client.query({ ...query, format: query.format ?? 'JSONEachRow' });
  let chunk: T[] = [];
  let total = 0;
  for await (const rows of rs.stream()) {
    for (const row of rows as StreamedRow[]) {
      chunk.push(map(row));
      if (chunk.length >= chunkSize) {
        total += chunk.length;
        await onChunk(chunk);
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) {
    total += chunk.length;
    await onChunk(chunk);
  }
  return total;
}
