import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { GatewayError } from '../errors';
import type { EngineSqlPolicy } from './sql-policy';
import { judgeSqlUser, type SqlUserVerdict } from './sql-user-check';
import type { SqlFormat, SqlRunner, SqlVetting } from './types';

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
 * Vets each query by ClickHouse's own parse (EngineSqlPolicy) and runs the accepted ones as
 * a user the server itself keeps read-only: before its first query the runner checks that
 * user's profile and grants (judgeSqlUser) and, if it could write or read files, the
 * endpoint stays off with the reason. The limits are passed as settings (allowed by a
 * readonly=2 profile); wait_end_of_query makes a real server buffer the result, so a limit
 * hit mid-result is an error status instead of a truncated 200.
 */
export class ClickHouseSqlRunner implements SqlRunner {
  private userCheck: Promise<SqlUserVerdict> | undefined;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly limits: SqlLimits,
    private readonly policy: EngineSqlPolicy,
    private readonly user: string,
  ) {}

  /** The verdict on the SQL user, checked once (again after a failed attempt, e.g. ClickHouse down). */
  checkUser(): Promise<SqlUserVerdict> {
    if (!this.userCheck) {
      this.userCheck = this.readUser();
      this.userCheck.catch(() => (this.userCheck = undefined));
    }
    return this.userCheck;
  }

  async vet(query: string): Promise<SqlVetting> {
    const verdict = await this.checkUser();
    if (!verdict.ok) throw new GatewayError('SQL_DISABLED', `the SQL endpoint is off: ${verdict.reason}`);
    return this.policy.vet(query);
  }

  async run(statement: string, format: SqlFormat): Promise<string> {
    const rs = await this.client.query({
      query: statement,
      format,
      clickhouse_settings: {
        max_execution_time: this.limits.maxSeconds,
        max_result_rows: String(this.limits.maxRows),
        result_overflow_mode: 'throw',
        max_memory_usage: String(this.limits.maxMemoryBytes),
        wait_end_of_query: 1,
      },
    });
    return rs.text();
  }

  private async readUser(): Promise<SqlUserVerdict> {
    const setting = await this.client.query({
      query: "SELECT getSetting('readonly') AS readonly",
      format: 'JSONEachRow',
    });
    const [row] = await setting.json<{ readonly: string | number }>();
    const grants = await this.client.query({ query: 'SHOW GRANTS FINAL', format: 'JSONEachRow' });
    const lines = (await grants.json<Record<string, string>>()).map((row) => String(Object.values(row)[0] ?? ''));
    return judgeSqlUser(this.user, String(row?.readonly ?? '0'), lines);
  }
}
