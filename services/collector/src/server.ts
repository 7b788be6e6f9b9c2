import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Partitioners, type ProducerRecord } from 'kafkajs';
import { throttledWarn, type Logger } from '@livetally/logging';
import { completeSends, createKafka } from '@livetally/kafka';
import { stopWithin } from '@livetally/lifecycle';
import { createRedisClient } from '@livetally/live-state';
import { ApiKeyring } from './api-keys';
import { buildCollectorApp } from './app';
import type { CollectorConfig } from './config';
import { KafkaEventSink } from './kafka-sink';
import { CollectorMetrics } from './metrics';
import { startMetricsServer } from './metrics-server';
import { SharedPlatformLimiter } from './platform-limit';

export interface RunningCollector {
  app: FastifyInstance;
  /** Base URL of the listening server, e.g. http://127.0.0.1:8090. */
  url: string;
  /** GET /metrics on its own listener, e.g. http://127.0.0.1:9466/metrics. */
  metricsUrl: string;
  isReady(): boolean;
  /**
   * Idempotent: readiness off, fastify closed (in-flight requests finish, each bounded
   * by the produce timeout), producer disconnected once its sends settled. Rejects if
   * that took longer than the shutdown deadline (connections and producer are then
   * dropped).
   */
  stop(): Promise<void>;
}

/** Connects the pieces for real and listens; Kafka is connected in the background (503 until then). */
export async function startCollector(config: CollectorConfig, logger: Logger): Promise<RunningCollector> {
  const log = logger.child({ component: 'collector' });
  const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers, logger });
  // Idempotent with acks=all: a kafkajs-internal retry never writes a message twice. kafkajs
  // wants unbounded retries for that (createKafka's cluster-wide bound would leak in); each
  // request is bounded by the sink's timeout instead. The partitioner is kafkajs' (Java-
  // compatible) default, named so it does not warn. A send ends once every partition it
  // addresses acknowledged (completeSends: kafkajs can report it done without some of them
  // when a broker dies under it).
  const createProducer = () => {
    const sends = completeSends(Partitioners.DefaultPartitioner, {
      onResend: (info) => logger.warn(info, 'Kafka left partitions of a send unacknowledged; sending them again'),
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER },
      createPartitioner: sends.createPartitioner,
    });
    return {
      connect: () => producer.connect(),
      disconnect: () => producer.disconnect(),
      send: (record: ProducerRecord) => sends.send(producer, record),
    };
  };
  const metrics = new CollectorMetrics();
  const sink = new KafkaEventSink({
    createProducer,
    topic: config.kafka.topic,
    timeoutMs: config.produceTimeoutMs,
    maxPendingEvents: config.maxPendingEvents,
    maxProduceBytes: config.maxProduceBytes,
    logger: log,
    observer: metrics,
  });
  let stopping = false;
  const isReady = () => !stopping && sink.isReady();
  // Only the rate limit uses Redis: commands fail fast while it is away (each instance then counts on its own).
  // One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES): each counter is one key.
  const redis = createRedisClient(
    { url: config.redisUrl, clusterNodes: config.redisClusterNodes },
    {
      redis: { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: 'lt-collector' },
      onError: throttledWarn(log, 'redis connection error; rate limits are per instance until it is back'),
    },
  );

  const app = await buildCollectorApp({
    sink,
    keys: new ApiKeyring(config.apiKeys),
    limiter: new SharedPlatformLimiter({ ...config.rateLimit, redis }),
    limits: { maxBatchEvents: config.maxBatchEvents, maxBodyBytes: config.maxBodyBytes },
    isReady,
    logger,
    metrics,
  });
  await app.listen({ host: config.host, port: config.port }).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const metricsServer = await startMetricsServer(metrics, config.metricsListen).catch(async (err: unknown) => {
    await app.close();
    redis.disconnect();
    throw err;
  });
  sink.start();

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true; // readiness off first, so load balancers drain us
      const deadline = Date.now() + config.shutdownTimeoutMs;
      await stopWithin(
        config.shutdownTimeoutMs,
        async () => {
          await app.close();
          await sink.stop(Math.max(0, deadline - Date.now()));
          await metricsServer.app.close();
          redis.disconnect();
        },
        () => {
          app.server.closeAllConnections();
          sink.disconnectNow();
          void metricsServer.app.close().catch(() => undefined);
          redis.disconnect();
        },
      );
      log.info('collector stopped');
    })());

  return { app, url: baseUrl(app.server.address() as AddressInfo), metricsUrl: metricsServer.url, isReady, stop };
}

function baseUrl(address: AddressInfo): string {
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
