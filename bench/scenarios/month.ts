import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { mintToken, type TokenKey } from '@livetally/gateway';
import { CampaignCatalogueRedis } from '@livetally/live-state';
import { summarisePlan } from '../../services/simulator/src/campaign-plan';
import { SHENZHEN_FACTS } from '../../services/simulator/src/campaign-profile';
import { parseShanghaiTime } from '../../services/simulator/src/shanghai-time';
import type { BenchContext, Scenario } from '../lib/context';
import { FootprintMonitor, fmtGiB, redisUsedMemory, topicLogDirs } from '../lib/footprint';
import { createTopics, deleteTopicsAndGroups, withAdmin } from '../lib/kafka';
import { fmtInt, fmtNum } from '../lib/log';
import { checkMonth, formatMonthCheck, type MonthCheck, type SourceReading } from '../lib/month-check';
import { MONTH_SCREENSHOT } from '../lib/options';
import {
  describeEstimate,
  ensureMonthFits,
  MONTH_MAX_LAG_EVENTS,
  MONTH_TOPIC_CONFIG,
  type MonthDiskEstimate,
} from '../lib/month-disk';
import { timeMonthHistory, type MonthHistory } from '../lib/month-history';
import { playMonth } from '../lib/month-play';
import {
  combineSittings,
  monthStatePath,
  readMonthState,
  removeMonthState,
  writeMonthState,
  type MonthRunState,
  type MonthSitting,
} from '../lib/month-sittings';
import { loseAndRebuild, recoverMonth, type MonthRecovery } from '../lib/month-recovery';
import { stackPids, type CpuUse } from '../lib/proc';
import { startService, stopChildren, stopThenDelete, type Child } from '../lib/processes';
import { screenshotCampaignScreen, type ScreenshotOutcome } from '../lib/screenshot';
import { clickhouseEnv, freePort, STACK, uniqueName, waitFor } from '../lib/stack';
import {
  MONTH_DEDUP_WINDOW_S,
  MONTH_EVENTS_AT_SCALE_1,
  MONTH_FINGERPRINTS_PER_BUCKET,
  monthDedupBuckets,
} from '../lib/month-dedup';
import { benchClickhouse, deletePrefix, dropDatabase, markFreshDeployment } from '../lib/stores';
import { appliedCount } from './ingest';

/**
 * 8. Shenzhen's Livestreaming E-commerce Month (23 Aug – 31 Oct 2024) through the real
 * pipeline, as fast as it goes: a producer process plays the simulator's plan into a
 * fresh topic, real ingest workers count it into Redis and ClickHouse, a real gateway
 * (tokens on) serves it; the campaign is created through the gateway before the first
 * event, so the workers count its scope live. Once every event is applied and stored,
 * every figure is read on REST, on a WebSocket snapshot of the campaign's totals channel,
 * on the campaign API (history of its window) and on the history API, and compared with
 * the plan's exact totals (sales, views, sessions) and with what was sent (the rest).
 * The workers' resend fingerprints are sized as an operator would size them for the
 * month, and kept for the replay's equivalent of the real month's window
 * (bench/lib/month-dedup.ts): Redis then holds what the real month would need, not a
 * third of the month's fingerprints.
 */

export interface MonthResult {
  scale: number;
  seed: number;
  window: { from: string; to: string };
  plan: { salesFen: number; views: number; sessions: number; hosts: number };
  events: number;
  workers: number;
  partitions: number;
  /** INGEST_DEDUP_BUCKETS_PER_HOUR of the workers and the rebuild (absent from results before it was sized). */
  dedupBucketsPerHour?: number;
  /** INGEST_DEDUP_WINDOW_SECONDS of the workers and the rebuild (absent from results before it was set). */
  dedupWindowS?: number;
  /** The Kafka client of the producer process (absent from results before it could be chosen: kafkajs). */
  producerClient?: 'platformatic' | 'kafkajs';
  /** First produce to everything applied in Redis and stored in ClickHouse. */
  wallS: number;
  /** events ÷ wallS: the pipeline's rate. */
  eventsPerSec: number;
  /** The producer's own rate (generation + produce), its waits for the workers (lagWaitS) left out. */
  produceEventsPerSec: number;
  produceS: number;
  /** Of produceS, the time the producer waited because it was maxLagEvents ahead of the workers. */
  lagWaitS: number;
  /** The month topic's settings that bound what Kafka keeps (bench/lib/month-disk.ts). */
  kafkaTopic: { config: Record<string, string>; maxLagEvents: number };
  footprint: MonthFootprint;
  /** The campaign's big screen once it showed the checked figures; null when it could not be taken (screenshotReason says why). */
  screenshot: Extract<ScreenshotOutcome, { saved: string[] }> | null;
  screenshotReason: string | null;
  /** CPU µs per event by process over the wall time. */
  cpuMicrosPerEvent: Record<string, number>;
  cpu: CpuUse;
  /** `complete`: false when the count stopped at its bound (keys and bytes are then lower bounds). */
  redis: {
    keys: number;
    bytes: number;
    byKind: Record<string, KeyKind>;
    usedMemoryDeltaBytes: number;
    complete?: boolean;
  };
  clickhouse: { tables: { table: string; rows: number; bytesOnDisk: number }[]; rows: number; bytesOnDisk: number };
  check: MonthCheck;
  /** The history benchmark's questions over the month's rollups, against p95 < 100 ms (null: --no-month-history). */
  history: MonthHistory | null;
  /** After Redis lost the run's keys: rebuild and reconcile timed, live figures checked again (null: --no-month-recovery). */
  recovery: MonthRecovery | null;
  /** Every figure on every read path equals the plan's (or, where the plan fixes none, what was sent), after the recovery too. */
  exact: boolean;
  /**
   * The stretches the month was played in: one, unless a hard stop (the machine's, a
   * session's end) interrupted it and `--resume` went on (absent from results before
   * runs could be resumed). wallS and the CPU figures add them up.
   */
  sittings?: MonthSitting[];
}

export interface MonthFootprint {
  freeDiskAtStartBytes: number;
  /** What the run was allowed to start on: at most this much disk added. */
  estimatedDisk: MonthDiskEstimate;
  /** The topic's partition folders in the broker's log dirs (null: the broker is not this machine's stack). */
  kafkaTopicBytes: number | null;
  kafkaTopicPeakBytes: number | null;
  redisUsedMemoryBytes: number;
  redisUsedMemoryPeakBytes: number;
}

const SEED = 2024;
/**
 * The workers as a replay of a whole month would run them: a Redis apply costs per scope a
 * batch touches, so Redis's CPU an event falls as batches grow, and a worker whose GC
 * costs less (a 256 MiB semi-space, after worker.sh's 64) keeps up sooner and so applies
 * smaller batches, handing its saving to Redis. Fetches that wait up to 500 ms for 8 MiB
 * keep the batches large (≈ 5,000 events a partition). Measured at scale 1
 * (docs/benchmarks.md): two runs at 38,364 and 34,781 events/s with both, against 32,120–34,482 beside them with either alone
 * or neither. Latency does not matter to a replay; the product's defaults favour it.
 */
const MONTH_WORKER_NODE_ARGS = ['--max-semi-space-size=256'];
const MONTH_WORKER_FETCH = { INGEST_FETCH_MIN_BYTES: String(8 * 1_048_576), INGEST_FETCH_MAX_WAIT_MS: '500' };
/**
 * ClickHouse inserts of up to 100,000 rows or 2 s (20,000 and 500 ms by default): chDB's
 * CPU a row falls with the insert's size (fewer parts to write and merge). Paired 120–150 s
 * windows at scale 1 (docs/benchmarks.md): chDB 13.7 and 9.6 µs an event against 14.3–15.0
 * and 11.4 beside them. ClickHouse then lags Redis by up to 2 s, which a replay does not mind.
 */
const MONTH_WORKER_FLUSH = { INGEST_FLUSH_ROWS: '100000', INGEST_FLUSH_MS: '2000' };
const CAMPAIGN_ID = 'shenzhen-month';
const CITIES = ['Shenzhen'];

const okStatus = (url: string) =>
  fetch(url).then(
    (r) => r.status === 200,
    () => false,
  );

/** A read of the API, bounded: a history question over the whole month at scale 1 is the slowest. */
async function getJson(url: string, token: string, timeoutMs = 300_000): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body) as Record<string, unknown>;
}

async function reading(read: () => Promise<Record<string, number>>): Promise<SourceReading> {
  try {
    return { figures: await read() };
  } catch (err) {
    return { error: (err as Error).message.slice(0, 300) };
  }
}

/** The snapshot frame of a channel on a fresh connection, bounded in time. */
async function wsSnapshot(url: string, channel: string, timeoutMs = 15_000): Promise<Record<string, number>> {
  const ws = new WebSocket(url);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no snapshot of ${channel} within ${timeoutMs} ms`)), timeoutMs);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel })));
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as { type: string; channel?: string; data?: Record<string, number> };
        if (frame.type === 'error') reject(new Error(`error frame: ${String(raw).slice(0, 300)}`));
        if (frame.type === 'snapshot' && frame.channel === channel && frame.data) {
          clearTimeout(timer);
          resolve(frame.data);
        }
      });
    });
  } finally {
    ws.terminate();
  }
}

export interface KeyKind {
  keys: number;
  bytes: number;
  /** Seconds to live of one key of the kind (-1: none), as a sample of how long the kind stays. */
  sampleTtlS: number;
}

/**
 * Keys under the prefix and the bytes Redis reports for them (MEMORY USAGE, bounded in
 * keys), by kind (the key's segment after the prefix: m = minute buckets, r = rankings…).
 * The bound is above the month's resend buckets at scale 1 (4,096 an event hour, 1,680
 * hours); `complete` says whether the count reached the end.
 */
async function redisFootprint(ctx: BenchContext, prefix: string, maxKeys = 10_000_000) {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  const byKind: Record<string, KeyKind> = {};
  do {
    const [next, batch] = await ctx.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2_000);
    cursor = next;
    const pipeline = ctx.redis.pipeline();
    for (const k of batch) pipeline.memory('USAGE', k, 'SAMPLES', 0);
    const usage = (await pipeline.exec()) ?? [];
    for (const [i, k] of batch.entries()) {
      const kind = k.slice(prefix.length + 1).split(':')[0]!;
      const used = Number(usage[i]?.[1] ?? 0);
      const entry = (byKind[kind] ??= { keys: 0, bytes: 0, sampleTtlS: await ctx.redis.ttl(k) });
      entry.keys++;
      entry.bytes += used;
      bytes += used;
    }
    keys += batch.length;
  } while (cursor !== '0' && keys < maxKeys);
  return { keys, bytes, byKind, complete: cursor === '0' };
}

async function clickhouseFootprint(database: string) {
  const ch = benchClickhouse(database);
  try {
    const rs = await ch.query({
      query:
        'SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = {db:String} AND active GROUP BY table ORDER BY table',
      query_params: { db: database },
      format: 'JSONEachRow',
    });
    const tables = (await rs.json<{ table: string; rows: string; bytes: string }>()).map((r) => ({
      table: r.table,
      rows: Number(r.rows),
      bytesOnDisk: Number(r.bytes),
    }));
    return {
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      bytesOnDisk: tables.reduce((n, t) => n + t.bytesOnDisk, 0),
    };
  } finally {
    await ch.close();
  }
}

function startWorkers(count: number, env: Record<string, string>) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const port = await freePort();
      return {
        child: startService('ingest', { ...env, INGEST_HTTP_PORT: String(port) }, MONTH_WORKER_NODE_ARGS),
        readyUrl: `http://127.0.0.1:${port}/readyz`,
      };
    }),
  );
}

/** The history benchmark's questions over the month's own database, bounded as the history scenario bounds them. */
async function timeHistory(ctx: BenchContext, run: string, fromMs: number, toMs: number, log: (m: string) => void) {
  const { historyRuns: runs, historyQueryBudgetS } = ctx.opts.sizes;
  const ch = benchClickhouse(run);
  try {
    return await timeMonthHistory({
      ch,
      fromMs,
      toMs,
      city: CITIES[0]!,
      runs,
      budgetMs: historyQueryBudgetS * 1000,
      log,
    });
  } finally {
    await ch.close();
  }
}

/** The run's topic, consumer group, Redis keys and ClickHouse database. */
async function deleteRunData(ctx: BenchContext, run: string, topic: string): Promise<void> {
  await dropDatabase(ctx.ch, run);
  await deletePrefix(ctx.redis, run);
  await deleteTopicsAndGroups(ctx.kafka, [topic, `${topic}.dlq`], [run]);
}

/** A resume needs the stores to hold the run still (a stack reset or another machine would not). */
async function ensureRunIntact(ctx: BenchContext, state: MonthRunState): Promise<void> {
  const missing: string[] = [];
  const topics = await withAdmin(ctx.kafka, (admin) => admin.listTopics());
  if (!topics.includes(state.topic)) missing.push(`Kafka topic ${state.topic}`);
  const rs = await ctx.ch.query({
    query: 'SELECT count() AS n FROM system.databases WHERE name = {db:String}',
    query_params: { db: state.run },
    format: 'JSONEachRow',
  });
  if (Number((await rs.json<{ n: string }>())[0]?.n ?? 0) === 0) missing.push(`ClickHouse database ${state.run}`);
  const appliedBefore = state.sittings.at(-1)?.applied ?? 0;
  if (state.phase === 'month' && appliedBefore > 0 && (await appliedCount(ctx, state.run, state.topic)) === 0)
    missing.push(`the Redis keys of ${state.run}`);
  if (missing.length > 0)
    throw new Error(
      `--resume: the stores no longer hold the unfinished run ${state.run} (${missing.join(', ')} missing): start afresh without --resume`,
    );
}

async function createCampaign(
  base: string,
  token: string,
  { from, to, plan }: { from: number; to: number; plan: { salesFen: number; views: number; sessions: number } },
): Promise<void> {
  const created = await fetch(`${base}/v1/campaigns`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: CAMPAIGN_ID,
      name: 'Shenzhen Livestreaming E-commerce Month',
      startsAt: from,
      endsAt: to,
      filters: { cities: CITIES },
      targets: { gmvFen: plan.salesFen, views: plan.views, sessions: plan.sessions },
    }),
  });
  if (created.status !== 201) throw new Error(`creating the campaign: ${created.status} ${await created.text()}`);
}

export const month: Scenario<MonthResult> = {
  name: 'month',
  title: "Shenzhen's campaign month through the real pipeline, every figure checked against the plan",
  async run(ctx, log) {
    const { monthScale: scale, monthWorkers: workers, monthPartitions: partitions, monthTimeoutS } = ctx.opts.sizes;
    const from = parseShanghaiTime(SHENZHEN_FACTS.campaignFrom);
    const to = parseShanghaiTime(SHENZHEN_FACTS.campaignTo);
    const plan = summarisePlan(SEED, scale, from, to, 'shanghai', CITIES).cities[0]!;
    // Approximate: the plan fixes sales, views and sessions, not the count of events that carry them.
    const plannedEvents = Math.ceil(MONTH_EVENTS_AT_SCALE_1 * scale);
    log(
      `scale ${scale}: plan ${fmtInt(plan.salesFen / 100)} yuan, ${fmtInt(plan.views)} views, ${fmtInt(plan.sessions)} sessions, ${fmtInt(plan.hosts)} hosts (about ${fmtInt(plannedEvents)} events); ${workers} worker(s), ${partitions} partitions`,
    );
    const statePath = monthStatePath(ctx.opts.outDir);
    const earlier = readMonthState(statePath);
    if (ctx.opts.monthResume) {
      if (!earlier) throw new Error(`--resume: no unfinished month run to resume (${statePath} is absent)`);
      const differs = (['scale', 'partitions', 'workers'] as const).filter(
        (k) => earlier[k] !== { scale, partitions, workers }[k],
      );
      if (earlier.phase === 'setup')
        throw new Error(
          `--resume: the unfinished run ${earlier.run} stopped before its first event: start afresh without --resume (which deletes it)`,
        );
      if (differs.length > 0)
        throw new Error(
          `--resume: the unfinished run ${earlier.run} has ${differs.map((k) => `${k} ${earlier[k]}`).join(', ')}; this run asks for ${differs.map((k) => `${k} ${{ scale, partitions, workers }[k]}`).join(', ')}`,
        );
      await ensureRunIntact(ctx, earlier);
    } else if (earlier && !ctx.opts.monthFresh) {
      throw new Error(
        `an unfinished month run (${earlier.run}, ${fmtInt(earlier.sittings.at(-1)?.sent ?? 0)} events sent, state in ${statePath}) is in the stores, or running now: go on with it with --resume, or delete it and start afresh with --fresh`,
      );
    } else if (earlier) {
      log(
        `an unfinished month run (${earlier.run}, ${fmtInt(earlier.sittings.at(-1)?.sent ?? 0)} events sent) is deleted to start afresh (--fresh)`,
      );
      await deleteRunData(ctx, earlier.run, earlier.topic);
      removeMonthState(statePath);
    }
    const resumed = ctx.opts.monthResume ? earlier : null;
    const disk = resumed
      ? { freeBytes: resumed.freeDiskAtStartBytes, estimate: resumed.estimatedDisk }
      : ensureMonthFits(plannedEvents, partitions);
    const dedupBuckets =
      resumed?.dedupBucketsPerHour ?? ctx.opts.monthDedupBuckets ?? monthDedupBuckets(scale, partitions);
    log(
      `resend fingerprints: ${fmtInt(dedupBuckets)} bucket(s) an event hour and partition (${resumed || ctx.opts.monthDedupBuckets !== null ? 'as set' : `sized to the month: about ${MONTH_FINGERPRINTS_PER_BUCKET} a bucket`}), kept ${MONTH_DEDUP_WINDOW_S} s (the month's busiest hour at the replay's pace: bench/lib/month-dedup.ts)`,
    );
    if (!resumed) log(`free disk ${fmtGiB(disk.freeBytes)}; the month adds ${describeEstimate(disk.estimate)}`);
    const run = resumed?.run ?? uniqueName('bench_month');
    const topic = resumed?.topic ?? `lt.${run}`;
    const dlqTopic = `${topic}.dlq`;
    // The producer, workers and gateway by name; the clean-up stops them before it deletes what they write.
    const procs = new Map<string, Child>();
    const stopAndDelete = stopThenDelete(
      procs,
      async () => {
        await deleteRunData(ctx, run, topic);
        removeMonthState(statePath);
      },
      log,
    );
    // Once events flow, a failure keeps the run (hours of it at scale 1) for --resume, or for a
    // look at what went wrong; --fresh deletes it. Ctrl-C and a finished run delete it.
    let resumable = resumed !== null;
    let keepForResume = false;
    const cleanup = ctx.onCleanup(async () => {
      if (!keepForResume) return stopAndDelete();
      await stopChildren(procs, 'SIGTERM', 20_000);
      log(
        `clean-up: the run failed after its first events: its data and ${statePath} are kept (--resume goes on with it, --fresh deletes it)`,
      );
    });
    try {
      let state: MonthRunState;
      if (resumed) {
        state = resumed;
        log(
          `resuming ${run} (sitting ${resumed.sittings.length + 1}${resumed.phase === 'month' ? '' : `, in its ${resumed.phase} phase`}): ${fmtInt(resumed.sittings.at(-1)?.sent ?? 0)} events sent and ${fmtInt(resumed.sittings.at(-1)?.applied ?? 0)} applied at its last checkpoint`,
        );
      } else {
        state = {
          version: 1,
          run,
          topic,
          scale,
          seed: SEED,
          workers,
          partitions,
          dedupBucketsPerHour: dedupBuckets,
          freeDiskAtStartBytes: disk.freeBytes,
          estimatedDisk: disk.estimate,
          memoryBeforeBytes: 0,
          kafkaPeakBytes: null,
          redisPeakBytes: 0,
          phase: 'setup',
          produced: null,
          sittings: [],
        };
        // Before anything is made: a stop from here on leaves data a later run knows to delete.
        writeMonthState(statePath, state);
        await createTopics(ctx.kafka, [
          { topic, numPartitions: partitions, config: MONTH_TOPIC_CONFIG },
          { topic: dlqTopic, numPartitions: 1 },
        ]);
        await ctx.ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
        await markFreshDeployment(ctx.redis, run, topic, partitions);
      }
      // After the topic exists: the monitor finds its partitions' folders when it is made.
      const footprint = new FootprintMonitor(ctx.redis, topic, topicLogDirs(topic));
      footprint.kafkaPeakBytes = state.kafkaPeakBytes;
      footprint.redisPeakBytes = state.redisPeakBytes;
      if ((await footprint.sample()).kafkaBytes === null)
        log(`the topic's partitions are in no log dir of this machine's stack: its Kafka bytes are not reported`);
      const stores = { REDIS_URL: STACK.redisUrl, REDIS_KEY_PREFIX: run, ...clickhouseEnv(), CLICKHOUSE_DATABASE: run };
      const workerEnv = {
        ...stores,
        KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: dlqTopic,
        KAFKA_GROUP_ID: run,
        INGEST_DEDUP_BUCKETS_PER_HOUR: String(dedupBuckets),
        INGEST_DEDUP_WINDOW_SECONDS: String(MONTH_DEDUP_WINDOW_S),
        ...MONTH_WORKER_FETCH,
        ...MONTH_WORKER_FLUSH,
      };
      if (state.phase === 'recovery') {
        log(`the hard stop came in the recovery phase, after it deleted the run's Redis keys: they are rebuilt first`);
        const { rebuild } = await loseAndRebuild({ redis: ctx.redis, run, topic, monthMs: to - from, workerEnv, log });
        if (rebuild.exitCode !== 0)
          throw new Error(`the rebuild of the interrupted recovery phase exited ${rebuild.exitCode}`);
        state.phase = 'after';
        writeMonthState(statePath, state);
      }
      const ingest = await startWorkers(workers, workerEnv);
      for (const [i, w] of ingest.entries()) procs.set(`worker${i + 1}`, w.child);
      const key: TokenKey = { kid: 'bench', secret: randomBytes(36).toString('base64') };
      const port = await freePort();
      const gateway = startService('gateway', {
        ...stores,
        GATEWAY_PORT: String(port),
        GATEWAY_AUTH: 'on',
        GATEWAY_TOKEN_SECRETS: `${key.kid}:${key.secret}`,
      });
      procs.set('gateway', gateway);
      const base = `http://127.0.0.1:${port}`;
      const token = mintToken(
        { sub: 'bench-month', role: 'admin', scopes: ['*'], ttlSeconds: 86_400, now: Date.now() },
        key,
      );
      await waitFor(
        'ingest workers and gateway ready',
        async () =>
          (await Promise.all([...ingest.map((w) => okStatus(w.readyUrl)), okStatus(`${base}/readyz`)])).every(Boolean),
        90_000,
        250,
      );

      if (!resumed) {
        // The campaign exists before the first event: the workers count its scope live (its backfill over an empty history ends at once).
        await createCampaign(base, token, { from, to, plan });
        const catalogue = new CampaignCatalogueRedis(ctx.redis, run);
        await waitFor(
          'the campaign backfill',
          async () => !(await catalogue.pendingIds()).includes(CAMPAIGN_ID),
          60_000,
          200,
        );
        state.memoryBeforeBytes = await redisUsedMemory(ctx.redis);
        state.phase = 'month';
        resumable = true;
      }
      writeMonthState(statePath, state);
      // A campaign screen watches the channel throughout, as on the day.
      const channel = `totals:campaign:${CAMPAIGN_ID}`;
      const liveUrl = `ws://127.0.0.1:${port}/v1/live?token=${encodeURIComponent(token)}`;
      const screen = new WebSocket(liveUrl);
      screen.once('open', () => screen.send(JSON.stringify({ type: 'subscribe', channel })));
      screen.on('error', (err) => log(`campaign screen: ${err.message}`));

      if (state.phase === 'month') {
        const played = await playMonth({
          ctx,
          log,
          state,
          statePath,
          procs,
          pids: {
            ...Object.fromEntries(ingest.map((w, i) => [`worker${i + 1}`, w.child.pid])),
            gateway: gateway.pid,
            ...stackPids(),
          },
          footprint,
          window: { from, to },
          cities: CITIES,
          applied: () => appliedCount(ctx, run, topic),
          plannedEvents,
          timeoutS: monthTimeoutS,
        });
        state.sittings.push(played.sitting);
        state.produced = played.produced;
        state.phase = 'after';
        state.kafkaPeakBytes = footprint.kafkaPeakBytes;
        state.redisPeakBytes = footprint.redisPeakBytes;
        writeMonthState(statePath, state);
      }
      const produced = state.produced!;
      const totals = combineSittings(state.sittings);
      const events = produced.sent;
      const wallS = totals.activeS;
      const usage: CpuUse = {
        perProcess: Object.fromEntries(
          Object.entries(totals.cpuS).map(([name, used]) => [name, Math.round((1000 * used) / wallS) / 10]),
        ),
        machinePercent: totals.machinePercent,
        windowS: Math.round(wallS * 10) / 10,
      };
      const memoryBefore = state.memoryBeforeBytes;
      screen.terminate();

      const totalsOf = async (url: string, pick: (body: Record<string, unknown>) => unknown) =>
        pick(await getJson(url, token)) as Record<string, number>;
      const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
      const planned = { salesFen: plan.salesFen, views: plan.views, sessions: plan.sessions };
      // The live read paths (Redis), then the history ones (ClickHouse).
      const live = async () => ({
        rest: await reading(() => totalsOf(`${base}/v1/totals/campaign:${CAMPAIGN_ID}`, (b) => b.totals)),
        ws: await reading(() => wsSnapshot(liveUrl, channel)),
      });
      const check = checkMonth(planned, produced.sentFigures, {
        ...(await live()),
        campaign: await reading(() => totalsOf(`${base}/v1/campaigns/${CAMPAIGN_ID}`, (b) => b.history)),
        history: await reading(() =>
          totalsOf(`${base}/v1/history/totals?scope=city:Shenzhen&${range}`, (b) => b.totals),
        ),
      });
      for (const line of formatMonthCheck(check).split('\n')) log(line);
      const shot = await screenshotCampaignScreen({
        gatewayUrl: base,
        campaignId: CAMPAIGN_ID,
        token: mintToken(
          { sub: 'bench-month-screen', role: 'reader', scopes: ['*'], ttlSeconds: 3_600, now: Date.now() },
          key,
        ),
        figures: Object.fromEntries(check.rows.map((r) => [r.figure, r.expected])),
        paths: [`${ctx.opts.outDir}/month-campaign.png`, ...(ctx.opts.updateScreenshot ? [MONTH_SCREENSHOT] : [])],
      });
      log(
        shot.saved === null
          ? `no screenshot: ${shot.reason}`
          : `screenshot ${shot.saved.join(', ')}: ${shot.matched ? `the screen showed every checked figure after ${fmtNum(shot.waitedMs / 1000)} s` : `the screen still differed after ${fmtNum(shot.waitedMs / 1000)} s (${shot.differences.join('; ')})`}`,
      );

      const cpuMicrosPerEvent: Record<string, number> = {
        producer: Math.round((10 * totals.producerCpuMicros) / events) / 10,
      };
      for (const [name, used] of Object.entries(totals.cpuS))
        cpuMicrosPerEvent[name] = Math.round((used * 1e7) / events) / 10;
      const history = ctx.opts.monthHistory ? await timeHistory(ctx, run, from, to, log) : null;
      const redisUse = await redisFootprint(ctx, run);
      await footprint.sample();
      state.phase = 'recovery';
      writeMonthState(statePath, state);
      const recovery = ctx.opts.monthRecovery
        ? await recoverMonth({
            redis: ctx.redis,
            run,
            topic,
            monthMs: to - from,
            workerEnv,
            checkLive: async () => {
              const again = checkMonth(planned, produced.sentFigures, await live());
              for (const line of formatMonthCheck(again).split('\n')) log(`recovery: ${line}`);
              return again;
            },
            log,
          })
        : null;
      const out: MonthResult = {
        scale,
        seed: SEED,
        window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
        plan: { salesFen: plan.salesFen, views: plan.views, sessions: plan.sessions, hosts: plan.hosts },
        events,
        workers,
        partitions,
        dedupBucketsPerHour: dedupBuckets,
        dedupWindowS: MONTH_DEDUP_WINDOW_S,
        producerClient: ctx.opts.monthProducer,
        wallS: Math.round(wallS * 10) / 10,
        eventsPerSec: Math.round(events / wallS),
        produceEventsPerSec: Math.round(events / Math.max(0.001, totals.producerS - totals.lagWaitS)),
        produceS: Math.round(totals.producerS * 10) / 10,
        lagWaitS: Math.round(totals.lagWaitS * 10) / 10,
        sittings: state.sittings,
        kafkaTopic: { config: MONTH_TOPIC_CONFIG, maxLagEvents: MONTH_MAX_LAG_EVENTS },
        footprint: {
          freeDiskAtStartBytes: disk.freeBytes,
          estimatedDisk: disk.estimate,
          kafkaTopicBytes: footprint.kafkaBytes,
          kafkaTopicPeakBytes: footprint.kafkaPeakBytes,
          redisUsedMemoryBytes: footprint.redisBytes,
          redisUsedMemoryPeakBytes: footprint.redisPeakBytes,
        },
        screenshot: shot.saved === null ? null : shot,
        screenshotReason: shot.saved === null ? shot.reason : null,
        cpuMicrosPerEvent,
        cpu: usage,
        redis: { ...redisUse, usedMemoryDeltaBytes: footprint.redisBytes - memoryBefore },
        clickhouse: await clickhouseFootprint(run),
        check,
        history,
        recovery,
        exact: check.exact && (recovery?.exact ?? true),
      };
      log(
        `${fmtInt(events)} events in ${fmtNum(wallS)} s: ${fmtInt(out.eventsPerSec)} events/s through the pipeline (producer alone ${fmtInt(out.produceEventsPerSec)}/s, ${fmtNum(out.lagWaitS)} s of waits for the workers left out); CPU µs per event: ${Object.entries(
          cpuMicrosPerEvent,
        )
          .map(([n, v]) => `${n} ${fmtNum(v)}`)
          .join(
            ', ',
          )}; Redis ${fmtInt(redisUse.keys)} keys, ${fmtNum(redisUse.bytes / 2 ** 20)} MiB (used_memory peak ${fmtGiB(footprint.redisPeakBytes)}); Kafka topic ${fmtGiB(footprint.kafkaBytes)} (peak ${fmtGiB(footprint.kafkaPeakBytes)}); ClickHouse ${fmtInt(out.clickhouse.rows)} rows, ${fmtNum(out.clickhouse.bytesOnDisk / 2 ** 20)} MiB on disk; every figure ${check.exact ? 'exact' : 'NOT EXACT'}${history ? `; history questions worst p95 ${history.worstP95Ms === null ? '–' : `${fmtNum(history.worstP95Ms)} ms`} (${history.withinTarget ? 'all' : 'NOT all'} < ${history.targetP95Ms} ms)` : ''}`,
      );
      return out;
    } catch (err) {
      keepForResume = resumable;
      throw err;
    } finally {
      await cleanup();
    }
  },
};
