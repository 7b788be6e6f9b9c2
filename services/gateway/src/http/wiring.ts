import type { Redis } from 'ioredis';
import { CampaignService, CampaignStore } from '@livetally/campaigns';
import { HistoryQueries, createHistoryClient, migrate } from '@livetally/history';
import { safeUrl, type Logger } from '@livetally/logging';
import type { GatewayConfig } from '../config';
import { EngineSqlPolicy } from './sql-policy';
import { ClickHouseSqlRunner, createSqlClient } from './sql-runner';

const MIGRATE_RETRY_MS = 5_000;
const MIGRATE_WAIT_MS = 5_000;

export interface HistoryWiring {
  history: HistoryQueries;
  campaigns: CampaignService;
  sql: ClickHouseSqlRunner;
  /** Stops migration retries and closes both ClickHouse clients. */
  close(): Promise<void>;
}

/**
 * The gateway's ClickHouse side: the schema (migrate() is idempotent; if ClickHouse is
 * down at start the gateway still starts and keeps retrying, since live totals need only
 * Redis), the rollup queries, the campaign store and service (which records changes; the
 * ingest side runs the backfills they start), and the SQL runner.
 */
export async function connectHistory(
  config: GatewayConfig,
  redis: Redis,
  keyPrefix: string | undefined,
  log: Logger,
): Promise<HistoryWiring> {
  const client = createHistoryClient(config.clickhouse);
  // Engineers' queries run as their own ClickHouse user (CLICKHOUSE_SQL_USER; a readonly profile on a real server).
  const sqlClient = createSqlClient({ ...config.clickhouse, ...config.sqlCredentials }, config.sql);
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const attempt = async (): Promise<void> => {
    try {
      const applied = await migrate(client);
      log.info(
        { clickhouse: safeUrl(config.clickhouse.url), database: config.clickhouse.database, applied },
        'history schema ready',
      );
    } catch (err) {
      if (closed) return;
      log.warn(
        { err, retryMs: MIGRATE_RETRY_MS },
        'could not migrate the history schema; history, campaigns and SQL answer 503 until it succeeds',
      );
      retry = setTimeout(() => void attempt(), MIGRATE_RETRY_MS);
      retry.unref();
    }
  };
  // Normally done before the gateway listens; a hanging ClickHouse delays start-up by at most this.
  await Promise.race([attempt(), new Promise((r) => setTimeout(r, MIGRATE_WAIT_MS).unref())]);

  const policy = new EngineSqlPolicy(sqlClient, {
    database: config.clickhouse.database,
    tableFunctions: config.sql.tableFunctions,
  });
  const sql = new ClickHouseSqlRunner(sqlClient, config.sql, policy, config.sqlCredentials.username);
  void sql.checkUser().then(
    (verdict) =>
      verdict.ok
        ? log.info(
            { user: config.sqlCredentials.username, readonly: verdict.readonly },
            'SQL endpoint user is read-only',
          )
        : log.error({ reason: verdict.reason }, 'SQL endpoint is off'),
    (err) => log.warn({ err }, 'could not check the SQL endpoint user yet; checked again before the first query'),
  );

  const campaigns = new CampaignService({ store: new CampaignStore(redis, client, keyPrefix), now: Date.now });
  return {
    history: new HistoryQueries(client),
    campaigns,
    sql,
    async close() {
      closed = true;
      clearTimeout(retry);
      await campaigns.close();
      await Promise.all([client.close(), sqlClient.close()].map((p: Promise<void>) => p.catch(() => undefined)));
    },
  };
}
