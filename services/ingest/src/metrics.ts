import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createIngestMetrics() {
  const registry = new Registry();
  // Node's default metrics keep their stock names, as stock dashboards expect.
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    events: new Counter({
      name: 'livetally_ingest_events_total',
      help: 'Messages by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'livetally_ingest_dead_letters_total',
      help: 'Messages sent to the dead-letter topic by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'livetally_ingest_batch_duration_seconds',
      help: 'Time to process one partition batch end to end',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'livetally_ingest_batch_retries_total',
      help: 'Batch attempts that failed and were retried',
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'livetally_ingest_consumer_lag',
      help: 'Messages behind the partition high watermark',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
    redisApplySeconds: new Histogram({
      name: 'livetally_ingest_redis_apply_seconds',
      help: 'Atomic counter apply latency',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    clickhouseInsertSeconds: new Histogram({
      name: 'livetally_ingest_clickhouse_insert_seconds',
      help: 'Raw event insert latency (one flush)',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    clickhouseInsertFailures: new Counter({
      name: 'livetally_ingest_clickhouse_insert_failures_total',
      help: 'ClickHouse inserts (flushes) that failed and will be retried; the rows stay buffered and offsets uncommitted',
      registers: [registry],
    }),
    flushRows: new Histogram({
      name: 'livetally_ingest_clickhouse_flush_rows',
      help: 'Rows per ClickHouse insert',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000],
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'livetally_ingest_ready',
      help: '1 when the worker can store batches',
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
