import { CampaignBackfills, CampaignStore, createCampaignBackfill } from '@livetally/campaigns';
import { CampaignBackfillQueries } from '@livetally/history';
import { LiveStateNotReadyError } from '@livetally/live-state';
import { throttledWarn, type Logger } from '@livetally/logging';
import { redisBeforeClusterLayout, type IngestClients } from './clients';
import type { IngestConfig } from './config';

/** How often the pending campaign backfills (a change recorded by a gateway, or a run that failed or died) are looked for. */
const RESUME_BACKFILLS_MS = 1_000;

export interface RunningCampaignBackfills {
  /** Stops looking and stops running backfills at their next step (they stay pending); resolves once they ended. */
  stop(): Promise<void>;
}

/**
 * The ingest side runs campaign backfills: a gateway only records a campaign change (the
 * store marks it pending), and every worker looks for pending campaigns and runs their
 * backfills on its own topic's applied offsets, under the campaign's lease, so one
 * process at a time runs each. A worker killed mid-way leaves it pending for the next look.
 */
export function startCampaignBackfills(
  config: IngestConfig,
  clients: Pick<IngestClients, 'redis' | 'clickhouse'>,
  logger: Logger,
): RunningCampaignBackfills {
  const { clickhouse } = clients;
  const redis = redisBeforeClusterLayout(clients.redis);
  const prefix = config.redis.keyPrefix;
  const store = new CampaignStore(redis, clickhouse, prefix);
  const waitingForLiveState = throttledWarn(
    logger,
    'campaign backfills wait: Redis holds no live state or a rebuild runs',
  );
  const backfills = new CampaignBackfills({
    store,
    backfill: createCampaignBackfill({
      redis,
      queries: new CampaignBackfillQueries(clickhouse),
      prefix,
      topic: config.kafka.topic,
      now: Date.now,
      progress: (campaign, message) =>
        logger.info({ campaign: campaign.id, version: campaign.version, step: 'backfill' }, message),
    }),
    onBackfillError: (campaign, err) =>
      err instanceof LiveStateNotReadyError
        ? waitingForLiveState(err) // every look fails the same way until a rebuild ends: once per interval
        : logger.error(
            { err, campaign: campaign.id, version: campaign.version },
            'campaign backfill failed; it stays pending and is retried',
          ),
  });
  let looking = false;
  const look = (): void => {
    if (looking) return;
    looking = true;
    void backfills
      .resumePending()
      .then(
        (n) => n > 0 && logger.info({ campaigns: n }, 'running pending campaign backfills'),
        (err: unknown) => logger.warn({ err }, 'could not look for pending campaign backfills'),
      )
      .finally(() => (looking = false));
  };
  const timer = setInterval(look, RESUME_BACKFILLS_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await backfills.close();
    },
  };
}
