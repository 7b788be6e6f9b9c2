import { randomBytes } from 'node:crypto';
import type { Producer } from 'kafkajs';
import WebSocket from 'ws';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../../services/simulator/src/dataset';
import type { BenchContext, Scenario } from '../lib/context';
import { createTopics, deleteTopicsAndGroups } from '../lib/kafka';
import { breakdown, readIngestCounters, type WorkerBreakdown } from '../lib/ingest-metrics';
import { fmtInt } from '../lib/log';
import { CpuWindow, niceness, reniceThreads, stackPids, type CpuUse } from '../lib/proc';
import { startService, type Child } from '../lib/processes';
import { summarize, type Summary } from '../lib/stats';
import { benchClickhouse, deletePrefix, dropDatabase, markFreshDeployment } from '../lib/stores';
import { clickhouseEnv, freePort, sleep, STACK, uniqueName, waitFor } from '../lib/stack';
import type { IngestResult } from './ingest';

/**
 * 4. End-to-end latency: Kafka produce → ingest worker(s) → Redis → gateway tick →
 * WebSocket frame, at fractions of the measured max ingest rate.
 *
 * How a frame is tied to produce times: besides the load, every 100 ms one marker
 * `view` event per partition is produced, sent explicitly to that partition, from a
 * marker host of its own (mkh<p>). A partition is applied in offset order, so when a
 * frame on channel totals:host:mkh<p> shows views = k, markers 1..k of that partition
 * are counted; each newly covered marker's latency is the frame's arrival time minus
 * the time its produce call started. One marker host per partition keeps every
 * partition (and so every worker) represented.
 */

export interface LatencyLevel {
  tickMs: number;
  fraction: number;
  targetRate: number;
  /** Events/s actually produced (load + markers). */
  producedRate: number;
  seconds: number;
  markers: number;
  /** Markers whose effect never arrived within the drain timeout. */
  unseen: number;
  latencyMs: Summary;
  cpu: CpuUse;
  /** Per ingest worker, over the level: batches, mean events per batch, where batch time went. */
  ingest: WorkerBreakdown[];
  /** Niceness of the local ClickHouse stand-in during the level (absent: not the stack's own). */
  clickhouseNice?: number;
  /** A same-run baseline: the stand-in at niceness 0 instead of the stack's LT_CLICKHOUSE_NICE. */
  baseline?: boolean;
}

export interface LatencyResult {
  maxRate: number;
  maxRateSource: string;
  workers: number;
  markerEveryMs: number;
  levels: LatencyLevel[];
}

const MARKER_EVERY_MS = 100;
/**
 * The load is sent in one request every this many ms, as a platform's producer batches
 * (Kafka's own producer lingers 5 ms by default since 4.0); back-to-back requests of a
 * few dozen events cost the broker and the producer several times the CPU per event on
 * a machine they share with the pipeline. Markers go out in the next request after they
 * are due, and their latency is counted from their own produce call.
 */
const LOAD_SEND_EVERY_MS = 10;

class MarkerBook {
  /** Per partition: send time of marker k (1-based), and the level it belongs to. */
  readonly sentAt: number[][];
  readonly levelOf: number[][];
  readonly seen: number[];
  readonly latencies = new Map<number, number[]>();

  constructor(readonly partitions: number) {
    this.sentAt = Array.from({ length: partitions }, () => [NaN]);
    this.levelOf = Array.from({ length: partitions }, () => [-1]);
    this.seen = Array.from({ length: partitions }, () => 0);
  }

  /** A snapshot or update for marker host p showing `views` markers counted. */
  observe(p: number, views: number, at: number): void {
    for (let k = this.seen[p]! + 1; k <= views; k++) {
      const sent = this.sentAt[p]![k];
      const level = this.levelOf[p]![k];
      if (sent === undefined || level === undefined || Number.isNaN(sent)) continue;
      let list = this.latencies.get(level);
      if (!list) this.latencies.set(level, (list = []));
      list.push(at - sent);
    }
    if (views > this.seen[p]!) this.seen[p] = views;
  }

  add(p: number, at: number, level: number): number {
    this.sentAt[p]!.push(at);
    this.levelOf[p]!.push(level);
    return this.sentAt[p]!.length - 1;
  }

  pending(): number {
    let n = 0;
    for (let p = 0; p < this.partitions; p++) n += this.sentAt[p]!.length - 1 - this.seen[p]!;
    return n;
  }

  /** Baseline from the snapshot: markers counted before this book started. */
  baseline(p: number, views: number): void {
    if (this.sentAt[p]!.length === 1) {
      for (let k = 1; k <= views; k++) {
        this.sentAt[p]!.push(NaN);
        this.levelOf[p]!.push(-1);
      }
      this.seen[p] = views;
    }
  }
}

function markerEvent(tag: string, p: number, k: number): LiveEvent {
  return {
    v: 1,
    type: 'view',
    eventId: `mk-${tag}-${p}-${k}`,
    platform: 'douyin',
    streamId: `mks${p}`,
    hostId: `mkh${p}`,
    ts: Date.now(),
    city: 'Shenzhen',
    district: 'Futian',
    category: 'clothing',
    viewerId: 'bench',
  };
}

/** Connects a WebSocket client subscribed to every marker host; resolves once all snapshots arrived. */
async function watchMarkers(url: string, book: MarkerBook, log: (m: string) => void): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise((res, rej) => ws.once('open', res).once('error', rej));
  const snapshots = new Set<number>();
  ws.on('message', (raw) => {
    const at = performance.now();
    const frame = JSON.parse(String(raw)) as { type: string; channel?: string; data?: { views: number } };
    const m = frame.channel ? /^totals:host:mkh(\d+)$/.exec(frame.channel) : null;
    if (!m || !frame.data) {
      if (frame.type === 'error') log(`gateway error frame: ${String(raw)}`);
      return;
    }
    const p = Number(m[1]);
    if (frame.type === 'snapshot' && !snapshots.has(p)) {
      snapshots.add(p);
      book.baseline(p, frame.data.views);
    }
    book.observe(p, frame.data.views, at);
  });
  for (let p = 0; p < book.partitions; p++)
    ws.send(JSON.stringify({ type: 'subscribe', channel: `totals:host:mkh${p}` }));
  await waitFor('marker snapshots', async () => snapshots.size === book.partitions, 15_000, 50);
  return ws;
}

async function produceLevel(opts: {
  producer: Producer;
  topic: string;
  partitions: number;
  rate: number;
  seconds: number;
  seed: number;
  tag: string;
  book: MarkerBook;
  level: number;
}): Promise<{ produced: number; seconds: number; markers: number }> {
  const { producer, topic, partitions, rate, seconds, book, level } = opts;
  const count = Math.ceil(rate * seconds);
  const data = buildDataset({ seed: opts.seed, count, startTs: Date.now(), spanMs: seconds * 1000 }).map((m) => ({
    key: m.key,
    value: m.value,
  }));
  const start = performance.now();
  let sent = 0;
  let markers = 0;
  let nextMarker = start;
  for (;;) {
    const now = performance.now();
    const elapsed = now - start;
    if (elapsed >= seconds * 1000 && sent >= count) break;
    const due = Math.max(0, Math.min(count, Math.floor((rate * elapsed) / 1000)) - sent);
    const load = data.slice(sent, sent + Math.min(due, 5_000));
    const messages: { key: string; value: Buffer; partition?: number }[] = [...load];
    if (now >= nextMarker && elapsed < seconds * 1000) {
      nextMarker += MARKER_EVERY_MS;
      const at = performance.now();
      for (let p = 0; p < partitions; p++) {
        const k = book.add(p, at, level);
        messages.push({
          key: `mks${p}`,
          value: Buffer.from(JSON.stringify(markerEvent(opts.tag, p, k))),
          partition: p,
        });
        markers++;
      }
    }
    if (messages.length > 0) {
      await producer.send({ topic, acks: -1, messages });
      sent += load.length;
    }
    const nextSend = now + LOAD_SEND_EVERY_MS - performance.now();
    if (nextSend > 0) await sleep(nextSend);
  }
  return { produced: sent + markers, seconds: (performance.now() - start) / 1000, markers };
}

/**
 * The levels once more at the default tick with the ClickHouse stand-in at niceness 0, as
 * before stack.sh ran it below the live path: a baseline in the same run. Skipped, saying
 * why, when the stand-in is not the stack's own, already runs at 0, or may not be raised.
 */
async function measureBaseline(
  chPid: number | undefined,
  shippedNice: number | undefined,
  tickMs: number,
  measureTick: (tickMs: number, clickhouseNice: number, baseline: boolean) => Promise<void>,
  log: (m: string) => void,
): Promise<void> {
  if (chPid === undefined || shippedNice === undefined || shippedNice === 0) {
    log("baseline skipped: the ClickHouse stand-in is not the stack's own, or already runs at niceness 0");
    return;
  }
  try {
    reniceThreads(chPid, shippedNice, 0);
  } catch (err) {
    reniceThreads(chPid, 0, shippedNice);
    log(`baseline skipped: cannot raise the stand-in's priority (${(err as Error).message}; needs CAP_SYS_NICE)`);
    return;
  }
  try {
    await measureTick(tickMs, 0, true);
  } finally {
    reniceThreads(chPid, 0, shippedNice);
  }
}

export const latency: Scenario<LatencyResult> = {
  name: 'latency',
  title: 'End-to-end latency: produce → ingest → Redis → gateway → WebSocket frame',
  async run(ctx: BenchContext, log) {
    const { latencyLevels, latencyLevelSeconds, latencyTicks, fixturePartitions: partitions } = ctx.opts.sizes;
    const ingestResult = ctx.results.ingest as IngestResult | undefined;
    const measured =
      ingestResult && Number.isFinite(ingestResult.maxEventsPerSec) ? ingestResult.maxEventsPerSec : null;
    const maxRate = measured ?? ctx.opts.maxRate ?? 2_000;
    const maxRateSource = measured
      ? 'measured by the ingest scenario'
      : ctx.opts.maxRate
        ? '--max-rate'
        : 'default (2000/s; the ingest scenario did not run)';
    const workers = ingestResult?.maxRateWorkers ?? 1;
    const run = uniqueName('bench_latency');
    const tag = randomBytes(4).toString('hex');
    const topic = `lt.${run}`;
    const dlqTopic = `${topic}.dlq`;
    const ch = benchClickhouse();
    const cleanup = ctx.onCleanup(async () => {
      await dropDatabase(ch, run);
      await ch.close();
      await deletePrefix(ctx.redis, run);
      await deleteTopicsAndGroups(ctx.kafka, [topic, dlqTopic], [run]);
    });
    const procs: Child[] = [];
    const workerProcs: Child[] = [];
    const producer = ctx.kafka.producer();
    const levels: LatencyLevel[] = [];
    try {
      await createTopics(ctx.kafka, [
        { topic, numPartitions: partitions },
        { topic: dlqTopic, numPartitions: 1 },
      ]);
      await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
      await markFreshDeployment(ctx.redis, run, topic, partitions);
      const readyUrls: string[] = [];
      const metricsUrls: string[] = [];
      for (let i = 0; i < workers; i++) {
        const port = await freePort();
        readyUrls.push(`http://127.0.0.1:${port}/readyz`);
        metricsUrls.push(`http://127.0.0.1:${port}/metrics`);
        const worker = startService('ingest', {
          KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
          KAFKA_TOPIC: topic,
          KAFKA_DLQ_TOPIC: dlqTopic,
          KAFKA_GROUP_ID: run,
          REDIS_URL: STACK.redisUrl,
          REDIS_KEY_PREFIX: run,
          ...clickhouseEnv(),
          CLICKHOUSE_DATABASE: run,
          INGEST_HTTP_PORT: String(port),
        });
        procs.push(worker);
        workerProcs.push(worker);
      }
      log(
        `max rate ${fmtInt(maxRate)} events/s (${maxRateSource}); ${workers} ingest worker(s); waiting for them to join`,
      );
      await waitFor(
        'ingest workers ready',
        async () =>
          (
            await Promise.all(
              readyUrls.map((u) =>
                fetch(u).then(
                  (r) => r.status === 200,
                  () => false,
                ),
              ),
            )
          ).every(Boolean),
        90_000,
        250,
      );
      await producer.connect();
      const book = new MarkerBook(partitions);
      let levelIndex = 0;
      /** Every level at one gateway tick; `clickhouseNice` is the stand-in's niceness meanwhile (undefined: not ours). */
      const measureTick = async (tickMs: number, clickhouseNice: number | undefined, baseline: boolean) => {
        const port = await freePort();
        const gateway = startService('gateway', {
          GATEWAY_AUTH: 'off',
          GATEWAY_PORT: String(port),
          REDIS_URL: STACK.redisUrl,
          REDIS_KEY_PREFIX: run,
          LIVE_TICK_MS: String(tickMs),
        });
        procs.push(gateway);
        await waitFor(
          'gateway ready',
          () =>
            fetch(`http://127.0.0.1:${port}/readyz`).then(
              (r) => r.status === 200,
              () => false,
            ),
          60_000,
          200,
        );
        const ws = await watchMarkers(`ws://127.0.0.1:${port}/v1/live`, book, log);
        try {
          for (const fraction of latencyLevels) {
            const level = levelIndex++;
            const rate = Math.max(1, Math.round(fraction * maxRate));
            log(
              `tick ${tickMs} ms, ${Math.round(fraction * 100)}% = ${fmtInt(rate)} events/s for ${latencyLevelSeconds} s` +
                (baseline ? `, ClickHouse stand-in at niceness ${clickhouseNice} (baseline)` : ''),
            );
            const cpu = new CpuWindow({
              ...Object.fromEntries(workerProcs.map((p, i) => [`worker${i + 1}`, p.pid])),
              gateway: gateway.pid,
              ...stackPids(),
            });
            const before = await Promise.all(metricsUrls.map(readIngestCounters));
            const produced = await produceLevel({
              producer,
              topic,
              partitions,
              rate,
              seconds: latencyLevelSeconds,
              seed: 5_000 + level,
              tag,
              book,
              level,
            });
            const usage = cpu.stop();
            const drainMs = Math.max(15_000, latencyLevelSeconds * 1500);
            await waitFor('every marker to arrive', async () => book.pending() === 0, drainMs, 100).catch(
              () => undefined,
            );
            const after = await Promise.all(metricsUrls.map(readIngestCounters));
            const lat = book.latencies.get(level) ?? [];
            const summary = summarize(lat);
            const result: LatencyLevel = {
              tickMs,
              fraction,
              targetRate: rate,
              producedRate: produced.produced / produced.seconds,
              seconds: produced.seconds,
              markers: produced.markers,
              unseen: produced.markers - lat.length,
              latencyMs: summary,
              cpu: usage,
              ingest: after.map((a, i) => breakdown(a, before[i])),
              clickhouseNice,
              baseline,
            };
            levels.push(result);
            log(
              `tick ${tickMs} ms @ ${fmtInt(result.producedRate)}/s: p50 ${fmtInt(summary.p50)} ms, p95 ${fmtInt(summary.p95)} ms, p99 ${fmtInt(summary.p99)} ms` +
                (result.unseen > 0 ? `, ${result.unseen} markers not seen within ${drainMs / 1000} s` : '') +
                `; ingest: ${result.ingest.map((b) => `${b.batches} batches of ${fmtInt(b.meanBatchEvents)} events, ${fmtInt(b.meanBatchMs)} ms each (ClickHouse insert ${fmtInt(b.meanClickhouseInsertMs)} ms)`).join('; ')}`,
            );
          }
        } finally {
          ws.terminate();
          await gateway.stop('SIGTERM', 10_000);
        }
      };
      const chPid = stackPids().clickhouse;
      const shippedNice = chPid === undefined ? undefined : niceness(chPid);
      if (ctx.opts.latencyBaseline) await measureBaseline(chPid, shippedNice, latencyTicks[0]!, measureTick, log);
      for (const tickMs of latencyTicks) await measureTick(tickMs, shippedNice, false);
      return { maxRate, maxRateSource, workers, markerEveryMs: MARKER_EVERY_MS, levels };
    } finally {
      await producer.disconnect().catch(() => undefined);
      await Promise.all(procs.map((p) => p.stop('SIGTERM', 20_000)));
      await cleanup();
    }
  },
};
