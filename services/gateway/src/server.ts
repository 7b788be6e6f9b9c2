import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { CampaignService } from '@livetally/campaigns';
import {
  createRedisClient,
  LiveStateReader,
  MinuteWindowCache,
  RedisCounterStore,
  subscribeToChanges,
  type AnyRedis,
  type ChangeSubscription,
} from '@livetally/live-state';
import { stopWithin } from '@livetally/lifecycle';
import { safeUrl, throttledWarn, type Logger } from '@livetally/logging';
import { buildApp } from './app';
import type { GatewayConfig } from './config';
import { LiveHub } from './live/hub';
import { RedisOwnerQuota } from './live/redis-owner-quota';
import { redisChannelReader } from './live/redis-channel-reader';
import { GatewayMetrics } from './metrics';
import { connectHistory } from './http/wiring';

export interface RunningGateway {
  app: FastifyInstance;
  hub: LiveHub;
  /** Base URL of the listening server, e.g. http://127.0.0.1:8080 (the dashboard is at /). */
  url: string;
  isReady(): boolean;
  /** Campaign create/replace/end (`idle()` waits until the ingest side ran the backfills they started). */
  campaigns: CampaignService;
  /**
   * Idempotent: readiness off, tick stopped, fastify (and every socket) closed, Redis quit;
   * past GATEWAY_SHUTDOWN_TIMEOUT_MS the sockets and connections are dropped and it rejects.
   */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Redis key prefix; tests use a unique one so runs never share keys or the change channel. */
  keyPrefix?: string;
}

/**
 * Connects the pieces for real: two Redis connections (a subscribed connection cannot
 * run commands), the counter store, the change feed into the hub, and the HTTP server.
 * It listens before Redis is reachable; /readyz says when the gateway can serve.
 */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningGateway> {
  const log = logger.child({ component: 'gateway' });
  // Commands fail fast while Redis is down (requests answer 503) instead of queueing.
  // One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES); error listeners attached at creation.
  const target = { url: config.redisUrl, clusterNodes: config.redisClusterNodes };
  const commands = createRedisClient(target, {
    redis: { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: 'lt-gateway' },
    onError: throttledWarn(log, 'redis command connection error'),
  });
  // The subscriber waits through outages; subscribeSharded re-subscribes (on a cluster, one
  // sharded subscriber per master, moved to the promoted replica after a failover).
  const subscriber = createRedisClient(target, {
    role: 'subscriber',
    redis: { maxRetriesPerRequest: null, connectionName: 'lt-gateway-sub' },
    onError: throttledWarn(log, 'redis subscriber connection error'),
  });
  // The rate limits, subscription quotas and campaign store send one-key commands (or take
  // one Redis's type until ADR 0003 Milestone 2); on a cluster they get the Cluster client.
  const commandsClient = commands as Redis;

  const store = new RedisCounterStore(commands, { prefix: options.keyPrefix });
  const metrics = new GatewayMetrics();
  const liveState = new LiveStateReader(commands, options.keyPrefix);
  // Shared with every gateway on this key prefix, so that spreading over N gateways does not give a token N caps.
  const ownerQuota = new RedisOwnerQuota({
    redis: commandsClient,
    keyPrefix: `${options.keyPrefix ?? config.redisKeyPrefix}:ws:subs`,
    max: config.limits.wsMaxSubscriptionsPerToken,
    ttlMs: config.limits.wsSubscriptionShareTtlMs,
    onWriteError: throttledWarn(log, "writing this gateway's share of a token's live subscriptions failed; retried"),
  });
  const hub = new LiveHub({
    reader: store,
    channelReader: redisChannelReader(liveState, new MinuteWindowCache(commands, options.keyPrefix)),
    tickMs: config.liveTickMs,
    pushIntervalMs: config.livePushIntervalMs,
    maxSubscriptionsPerClient: config.wsMaxSubscriptions,
    maxSubscriptionsTotal: config.limits.wsMaxSubscriptionsTotal,
    ownerQuota,
  });

  let subscription: ChangeSubscription | undefined;
  let subscribed = false;
  let stopping = false;
  // The registry poll fails every second while Redis is down: one warning per interval, not a flood.
  const onChangeError = throttledWarn(log, 'unreadable change notification or partition registry');
  // One sharded channel per partition (ADR 0003); partitions taken later are found by polling the registry.
  subscribeToChanges({
    subscriber,
    commands,
    prefix: options.keyPrefix,
    onChanged: (scopes, tag) => hub.markChanged(scopes, tag),
    // Channels (re)subscribed: what was published before may be lost, so every watched channel is re-read.
    onSubscribed: (tags) => {
      subscribed = true;
      hub.markAllChanged();
      if (subscription) log.info({ partitions: tags.length }, 'change subscription restored');
    },
    onError: onChangeError,
  }).then(
    (s) => {
      subscription = s;
      subscribed = true;
      log.info({ partitions: s.tags.size }, 'change subscription live');
    },
    (err: unknown) => log.error({ err }, 'could not subscribe to changes'),
  );
  // Notifications published while the connection was down are lost: subscribeSharded
  // subscribes again and onSubscribed has every watched channel re-read on the next tick.
  subscriber.on('close', () => (subscribed = false));
  // With no partition registered yet there is nothing to subscribe again: ready once connected.
  subscriber.on('ready', () => {
    if (subscription && subscription.tags.size === 0 && !stopping) subscribed = true;
  });

  const historySide = await connectHistory(config, commandsClient, options.keyPrefix, log);
  const isReady = () => !stopping && subscribed && commands.status === 'ready' && subscriber.status === 'ready';
  metrics.watchReadiness(isReady);
  const app = await buildApp({
    totals: store,
    hub,
    isReady,
    logger,
    metrics,
    live: {
      maxMessageBytes: config.wsMaxMessageBytes,
      heartbeatMs: config.wsHeartbeatMs,
      frameRate: { perSecond: config.limits.wsFrameRate, burst: config.limits.wsFrameBurst },
    },
    auth:
      config.auth.mode === 'on'
        ? {
            keys: config.auth.keys,
            clockSkewSeconds: config.auth.clockSkewSeconds,
            metricsPublic: config.auth.metricsPublic,
          }
        : undefined,
    limits: {
      ...config.limits,
      maxConnections: config.limits.wsMaxConnections,
      maxConnectionsPerIp: config.limits.wsMaxConnectionsPerIp,
    },
    // Counted on the command connection: while Redis is away it fails fast and each instance counts on its own.
    rateLimits: {
      perMinute: config.limits.ratePerMinute,
      sqlPerMinute: config.limits.sqlRatePerMinute,
      redis: commandsClient,
      keyPrefix: `${options.keyPrefix ?? config.redisKeyPrefix}:rl`,
    },
    history: historySide.history,
    campaigns: historySide.campaigns,
    sql: historySide.sql,
  });
  await app.listen({ host: config.host, port: config.port });
  hub.start();
  ownerQuota.start();
  log.info(
    {
      redis: safeUrl(config.redisUrl),
      tickMs: config.liveTickMs,
      pushIntervalMs: config.livePushIntervalMs,
      auth: config.auth.mode,
      keys: config.auth.keys.map((k) => k.kid ?? '(unnamed)'),
    },
    'gateway listening',
  );

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true; // readiness off first, so load balancers drain us
      hub.stop();
      await stopWithin(
        config.shutdownTimeoutMs,
        async () => {
          await app.close(); // its preClose hook closes every WebSocket
          await ownerQuota.close(); // other gateways need not wait for this one's share to expire
          await subscription?.close();
          await historySide.close();
          await Promise.all([closeRedis(commands), closeRedis(subscriber)]);
        },
        () => {
          app.server.closeAllConnections();
          void historySide.close().catch(() => undefined);
          commands.disconnect();
          subscriber.disconnect();
        },
      );
      log.info('gateway stopped');
    })());

  return {
    app,
    hub,
    url: baseUrl(app.server.address() as AddressInfo),
    isReady,
    campaigns: historySide.campaigns,
    stop,
  };
}

async function closeRedis(client: AnyRedis): Promise<void> {
  // QUIT needs a live connection; otherwise (or if it hangs) just drop the socket.
  if (client.status === 'ready')
    await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  client.disconnect();
}

function baseUrl(address: AddressInfo): string {
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
