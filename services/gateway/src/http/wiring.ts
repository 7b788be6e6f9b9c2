import type { Redis } from 'ioredis';
import { CampaignService, CampaignStore, createCampaignBackfill, type Backfill } from '@livetally/campaigns';
import { CampaignBackfillQueries, HistoryQueries, createHistoryClient, migrate } from '@livetally/history';
import { safeUrl, type Logger } from '@livetally/logging';
import type { GatewayConfig } from '../config';
import { EngineSqlPolicy } from './sql-policy';
import { ClickHouseSqlRunner, createSqlClient } from './sql-runner';

const MIGRATE_RETRY_MS = 5_000;
const MIGRATE_WAIT_MS = 5_000;
const IDLE_WAIT_MS = 5_000;
const LEASE_RELEASE_WAIT_MS = 1_000;
/** How often pending campaign backfills (failed, or left by a process that died) are looked for. */
const RESUME_BACKFILLS_MS = 5_000;

export interface HistoryWiring {
  history: HistoryQueries;
  campaigns: CampaignService;
  sql: ClickHouseSqlRunner;
  /** Stops migration retries, stops running backfills (they stay pending for another gateway), closes both ClickHouse clients. */
  close(): Promise<void>;
}

/**
 * The gateway's ClickHouse side: the schema (migrate() is idempotent; if ClickHouse is
 * down at start the gateway still starts and keeps retrying, since live totals need only
 * Redis), the rollup queries, the campaign store and service, and the SQL runner.
 */
export async function connectHistory(
  config: GatewayConfig,
  redis: Redis,
  keyPrefix: string | undefined,
  backfillOverride: Backfill | undefined,
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

  const store = new CampaignStore(redis, client, keyPrefix);
  const backfill =
    backfillOverride ??
    createCampaignBackfill({
      redis,
      queries: new CampaignBackfillQueries(client),
      prefix: keyPrefix,
      topic: config.ingest.topic,
      now: Date.now,
      progress: (campaign, message) =>
        log.info({ campaign: campaign.id, version: campaign.version, step: 'backfill' }, message),
    });
  const campaigns = new CampaignService({
    store,
    backfill,
    now: Date.now,
    onBackfillError: (campaign, err) =>
      log.error(
        { err, campaign: campaign.id, version: campaign.version },
        'campaign backfill failed; it stays pending and is retried',
      ),
  });
  // The real backfill leaves a campaign pending until its figures are swapped in: pick up
  // what a failed run or a gateway that died mid-way left (an override keeps nothing
  // pending). The first look comes one interval after start, once Redis is connected.
  const resume = (): void =>
    void campaigns.resumePending().then(
      (n) => n > 0 && log.info({ campaigns: n }, 'resuming pending campaign backfills'),
      (err: unknown) => log.warn({ err }, 'could not look for pending campaign backfills'),
    );
  const resumer = backfillOverride ? undefined : setInterval(resume, RESUME_BACKFILLS_MS);
  resumer?.unref();
  return {
    history: new HistoryQueries(client),
    campaigns,
    sql,
    async close() {
      closed = true;
      clearTimeout(retry);
      clearInterval(resumer);
      const stopped = campaigns.close();
      await Promise.race([stopped, new Promise((r) => setTimeout(r, IDLE_WAIT_MS).unref())]);
      await Promise.all([client.close(), sqlClient.close()].map((p: Promise<void>) => p.catch(() => undefined)));
      // A backfill still waiting on ClickHouse fails now; let it release its lease while Redis is open.
      await Promise.race([stopped, new Promise((r) => setTimeout(r, LEASE_RELEASE_WAIT_MS).unref())]);
    },
  };
}
