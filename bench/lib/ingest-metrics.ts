import { metricSum, scrape } from './prom';

/** Cumulative counters an ingest worker exposes on /metrics (INGEST_HTTP_PORT). */
export interface IngestCounters {
  counted: number;
  batches: number;
  batchSeconds: number;
  inserts: number;
  insertSeconds: number;
  applies: number;
  applySeconds: number;
  /** Rows written to ClickHouse (sum of the flush-size histogram). */
  flushedRows: number;
}

/** Where one worker's batch time went over a window. */
export interface WorkerBreakdown {
  counted: number;
  batches: number;
  meanBatchEvents: number;
  meanBatchMs: number;
  meanClickhouseInsertMs: number;
  meanRedisApplyMs: number;
  /** ClickHouse inserts and the rows each carried on average (the flusher's, not the batches'). */
  clickhouseInserts: number;
  meanRowsPerInsert: number;
}

const ZERO: IngestCounters = {
  counted: 0,
  batches: 0,
  batchSeconds: 0,
  inserts: 0,
  insertSeconds: 0,
  applies: 0,
  applySeconds: 0,
  flushedRows: 0,
};

export async function readIngestCounters(metricsUrl: string): Promise<IngestCounters> {
  try {
    const m = await scrape(metricsUrl);
    return {
      counted: metricSum(m, 'livetally_ingest_events_total', 'outcome="counted"'),
      batches: metricSum(m, 'livetally_ingest_batch_duration_seconds_count'),
      batchSeconds: metricSum(m, 'livetally_ingest_batch_duration_seconds_sum'),
      inserts: metricSum(m, 'livetally_ingest_clickhouse_insert_seconds_count'),
      insertSeconds: metricSum(m, 'livetally_ingest_clickhouse_insert_seconds_sum'),
      applies: metricSum(m, 'livetally_ingest_redis_apply_seconds_count'),
      applySeconds: metricSum(m, 'livetally_ingest_redis_apply_seconds_sum'),
      flushedRows: metricSum(m, 'livetally_ingest_clickhouse_flush_rows_sum'),
    };
  } catch {
    return { ...ZERO };
  }
}

export function breakdown(after: IngestCounters, before: IngestCounters = ZERO): WorkerBreakdown {
  const d = (k: keyof IngestCounters) => after[k] - before[k];
  const mean = (sum: keyof IngestCounters, count: keyof IngestCounters) =>
    d(count) > 0 ? (1000 * d(sum)) / d(count) : NaN;
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    counted: d('counted'),
    batches: d('batches'),
    meanBatchEvents: r(d('batches') > 0 ? d('counted') / d('batches') : NaN),
    meanBatchMs: r(mean('batchSeconds', 'batches')),
    meanClickhouseInsertMs: r(mean('insertSeconds', 'inserts')),
    meanRedisApplyMs: r(mean('applySeconds', 'applies')),
    clickhouseInserts: d('inserts'),
    meanRowsPerInsert: r(d('inserts') > 0 ? d('flushedRows') / d('inserts') : NaN),
  };
}
