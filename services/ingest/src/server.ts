import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { migrate } from '@livetally/history';
import { stopWithin } from '@livetally/lifecycle';
import { adoptGroupOffsets } from '@livetally/live-state';
import { createLogger, safeUrl, type Logger } from '@livetally/logging';
import { backoffMs } from './backoff';
import { startCampaignBackfills, type RunningCampaignBackfills } from './campaign-backfills';
import {
  closeIngestClients,
  createIngestClients,
  dropIngestClients,
  probeStores,
  redisBeforeClusterLayout,
  type IngestClients,
} from './clients';
import type { IngestConfig } from './config';
import { startOpsServer } from './http';
import { createIngestMetrics } from './metrics';
import { checkEvictionPolicy } from './redis-eviction';
import { createIngestWorker } from './worker-wiring';

export interface IngestDeps {
  /** Default: a logger at LOG_LEVEL, as the process has. */
  logger?: Logger;
  /** The clock batches judge event times by; default Date.now. */
  now?: () => number;
  /**
   * The worker cannot go on (start-up refused, e.g. a Redis that may evict live state,
   * or a consumer that could not recover); it has stopped itself when this is called.
   * The process exits non-zero here so a supervisor restarts it. Default: logged only.
   */
  onFatal?: (err: Error) => void;
}

export interface RunningIngest {
  /** The ops server's base URL: /metrics, /healthz, /readyz. */
  opsUrl: string;
  /** This worker's name in lt_partition_owners (host:pid:random). */
  owner: string;
  isReady(): boolean;
  /**
   * Resolves once the consumer runs. Start-up waits (not ready) while Redis or
   * ClickHouse is down; it rejects if start-up was refused or stop() came first.
   */
  started: Promise<void>;
  /**
   * Idempotent, within INGEST_SHUTDOWN_TIMEOUT_MS: readiness off, fetching stopped, the
   * running batches ended, what the history flusher holds written and its offsets
   * committed, the consumer out of the group, the ops server closed, the stores
   * disconnected. Past the deadline every connection is dropped and it rejects.
   */
  stop(): Promise<void>;
}

/** How long stop() waits for a backfill stuck in a ClickHouse query; it stays pending for the next worker. */
const BACKFILL_STOP_WAIT_MS = 5_000;
/** Then ClickHouse is closed (the query fails) and the backfill gets this long to release its lease in Redis. */
const LEASE_RELEASE_WAIT_MS = 1_000;

class StoppedDuringStartUp extends Error {
  constructor() {
    super('stopped before start-up finished');
  }
}

/**
 * A whole ingest worker in this process, wired as main.ts runs it: the ops server
 * listens at once (not ready), then start-up waits for the stores, migrates ClickHouse
 * and joins the consumer group in the background (`started`).
 */
export async function startIngest(config: IngestConfig, deps: IngestDeps = {}): Promise<RunningIngest> {
  const logger = deps.logger ?? createLogger({ service: 'ingest', level: config.logLevel });
  const metrics = createIngestMetrics();
  const clients = createIngestClients(config, logger);
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let stopped: Promise<void> | undefined;
  const stopping = new AbortController();
  const fatal = (err: Error) => {
    if (stopped) return;
    logger.fatal({ err }, 'ingest cannot go on; stopping');
    void stop()
      .catch((stopErr: unknown) => logger.error({ err: stopErr }, 'shutdown failed'))
      .then(() => deps.onFatal?.(err));
  };
  const worker = createIngestWorker(config, clients, metrics, {
    logger,
    owner,
    now: deps.now ?? Date.now,
    onFatal: fatal,
  });
  const isReady = () => !stopping.signal.aborted && worker.isReady();

  logger.info(
    {
      brokers: config.kafka.brokers,
      redis: safeUrl(config.redis.url),
      clickhouse: safeUrl(config.clickhouse.url),
      group: config.kafka.groupId,
    },
    'starting ingest',
  );
  const ops = await startOpsServer({ ...config.http, registry: metrics.registry, logger, isReady }).catch(
    async (err: unknown) => {
      await closeIngestClients(clients);
      throw err;
    },
  );
  const opsUrl = `http://${config.http.host}:${(ops.address() as AddressInfo).port}`;

  let backfills: RunningCampaignBackfills | undefined;
  const started = (async () => {
    await prepareStores(config, clients, logger, stopping.signal);
    await clients.producer.connect();
    await clients.admin.connect();
    if (stopping.signal.aborted) throw new StoppedDuringStartUp();
    await worker.start();
    backfills = startCampaignBackfills(config, clients, logger);
    logger.info({ metrics: `${opsUrl}/metrics`, owner }, 'ingest running');
  })();
  started.catch((err: Error) => {
    if (!(err instanceof StoppedDuringStartUp)) fatal(err);
  });

  const stop = () =>
    (stopped ??= (async () => {
      stopping.abort(); // readiness off first, so orchestrators stop counting on us
      logger.info('stopping');
      await stopWithin(
        config.shutdownTimeoutMs,
        async () => {
          await started.catch(() => undefined);
          // Backfills stop at their next step and release their leases while Redis is still open.
          const backfillsStopped = backfills?.stop();
          await worker.stop().catch((err: unknown) => logger.warn({ err }, 'consumer did not stop cleanly'));
          await stopBackfills(backfillsStopped, clients);
          await closeServer(ops);
          await closeIngestClients(clients);
        },
        () => {
          ops.closeAllConnections();
          ops.close();
          dropIngestClients(clients);
        },
      );
      logger.info('ingest stopped');
    })());

  return { opsUrl, owner, isReady, started, stop };
}

/**
 * Waits (not ready) until both stores answer, checks that Redis may not evict live
 * state, migrates ClickHouse and adopts the previous release's per-group offsets;
 * retries with backoff until that succeeds or the worker stops. An unsafe eviction
 * policy is not retried: it needs an operator.
 */
async function prepareStores(
  config: IngestConfig,
  clients: IngestClients,
  logger: Logger,
  stopping: AbortSignal,
): Promise<void> {
  clients.redis.connect().catch(() => undefined); // ioredis keeps reconnecting (retryStrategy)
  for (let attempt = 1; ; attempt++) {
    if (stopping.aborted) throw new StoppedDuringStartUp();
    let evictionProblem: string | undefined;
    try {
      await probeStores(clients);
      evictionProblem = await checkEvictionPolicy(clients.redis);
      if (!evictionProblem) return await migrateAndAdopt(config, clients, logger);
    } catch (err) {
      const wait = backoffMs(attempt, config.retryMaxMs);
      logger.warn({ err: (err as Error).message, retryInMs: wait }, 'waiting for Redis and ClickHouse');
      await sleep(wait, undefined, { signal: stopping }).catch(() => undefined);
      continue;
    }
    logger.fatal({ setting: 'maxmemory-policy' }, evictionProblem);
    throw new Error(`unsafe Redis eviction policy: ${evictionProblem}`);
  }
}

async function migrateAndAdopt(config: IngestConfig, clients: IngestClients, logger: Logger): Promise<void> {
  const applied = await migrate(clients.clickhouse);
  if (applied.length > 0) logger.info({ versions: applied }, 'applied ClickHouse migrations');
  const adopted = await adoptGroupOffsets(redisBeforeClusterLayout(clients.redis), {
    prefix: config.redis.keyPrefix,
    group: config.kafka.groupId,
    topic: config.kafka.topic,
  });
  if (adopted > 0)
    logger.info(
      { partitions: adopted, group: config.kafka.groupId },
      "adopted the previous release's per-group applied offsets as the topic's",
    );
}

/** Waits for stopped backfills; one still in a ClickHouse query fails once ClickHouse closes, and releases its lease. */
async function stopBackfills(stopped: Promise<void> | undefined, clients: IngestClients): Promise<void> {
  if (!stopped) return;
  const within = (ms: number) => Promise.race([stopped.then(() => true), sleep(ms, false, { ref: false })]);
  if (await within(BACKFILL_STOP_WAIT_MS)) return;
  await clients.clickhouse.close().catch(() => undefined);
  await within(LEASE_RELEASE_WAIT_MS);
}

/** Stops listening and ends idle keep-alive connections, so close() does not wait for clients to hang up. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
