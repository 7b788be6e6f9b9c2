import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RedisCounterStore } from '@livetally/live-state';
import type { BenchContext, Scenario } from '../lib/context';
import { summarizeProcessProfile, type ProfileSummary } from '../lib/cpuprofile';
import { deleteTopicsAndGroups, withAdmin } from '../lib/kafka';
import { fmtInt } from '../lib/log';
import { CpuWindow, stackPids, type CpuUse } from '../lib/proc';
import { startService, type Child } from '../lib/processes';
import { breakdown, readIngestCounters, type WorkerBreakdown } from '../lib/ingest-metrics';
import { benchClickhouse, deletePrefix, dropDatabase, markFreshDeployment } from '../lib/stores';
import { clickhouseEnv, freePort, ROOT, sleep, STACK, uniqueName } from '../lib/stack';

export interface IngestRun {
  workers: number;
  events: number;
  /** First applied batch observed to last: what the issue asks for. */
  eventsPerSec: number;
  perWorkerEventsPerSec: number;
  /** From the moment the consumer group was stable with every worker (excludes the start-up rebalance). */
  steadyEventsPerSec: number | null;
  seconds: number;
  startupS: number;
  complete: boolean;
  exact: boolean;
  perWorker: WorkerBreakdown[];
  cpu: CpuUse;
  profile?: ProfileSummary | null;
}

export interface IngestResult {
  runs: IngestRun[];
  /** The best total rate; the latency scenario produces at fractions of it. */
  maxEventsPerSec: number;
  maxRateWorkers: number;
}

/** Applied offsets of the topic's partitions in Redis, summed: how many messages are counted. */
export async function appliedCount(ctx: BenchContext, prefix: string, topic: string): Promise<number> {
  let n = 0;
  for (const offset of (await new RedisCounterStore(ctx.redis, { prefix }).appliedOffsets(topic)).values())
    n += Number(offset) + 1;
  return n;
}

async function runWorkers(
  ctx: BenchContext,
  log: (m: string) => void,
  workers: number,
  profile: boolean,
): Promise<IngestRun> {
  const fixture = await ctx.fixture();
  const run = uniqueName(`bench_ingest${workers}`);
  const group = run;
  const ch = benchClickhouse();
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
  const cleanup = ctx.onCleanup(async () => {
    await dropDatabase(ch, run);
    await ch.close();
    await deletePrefix(ctx.redis, run);
    await deleteTopicsAndGroups(ctx.kafka, [], [group]);
  });
  await markFreshDeployment(ctx.redis, run, fixture.topic, fixture.partitions);

  const profileDir = join(ROOT, ctx.opts.outDir, 'profiles');
  if (profile) mkdirSync(profileDir, { recursive: true });
  const procs: { child: Child; metricsUrl: string }[] = [];
  const spawnedAt = performance.now();
  for (let i = 0; i < workers; i++) {
    const port = await freePort();
    const env = {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      KAFKA_TOPIC: fixture.topic,
      KAFKA_DLQ_TOPIC: fixture.dlqTopic,
      KAFKA_GROUP_ID: group,
      REDIS_URL: STACK.redisUrl,
      REDIS_KEY_PREFIX: run,
      ...clickhouseEnv(),
      CLICKHOUSE_DATABASE: run,
      INGEST_HTTP_PORT: String(port),
    };
    const nodeArgs = profile && i === 0 ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    procs.push({ child: startService('ingest', env, nodeArgs), metricsUrl: `http://127.0.0.1:${port}/metrics` });
  }

  try {
    // Sample progress every 100 ms; note when the group became stable with every worker.
    const deadline = performance.now() + ctx.opts.sizes.throughputTimeoutS * 1000;
    let first: { t: number; n: number } | undefined;
    let stable: { t: number; n: number } | undefined;
    let last = { t: 0, n: 0 };
    let cpu: CpuWindow | undefined;
    let lastLog = 0;
    let groupCheck = 0;
    while (performance.now() < deadline) {
      const dead = procs.find((p) => !p.child.running());
      if (dead)
        throw new Error(`ingest worker exited (${await dead.child.exited}):\n${dead.child.output().slice(-3000)}`);
      const n = await appliedCount(ctx, run, fixture.topic);
      const t = performance.now();
      if (n > 0 && !first) {
        first = { t, n };
        cpu = new CpuWindow({
          ...Object.fromEntries(procs.map((p, i) => [`worker${i + 1}`, p.child.pid])),
          ...stackPids(),
        });
      }
      if (first && !stable && t - groupCheck > 500) {
        groupCheck = t;
        const description = await withAdmin(ctx.kafka, (admin) => admin.describeGroups([group])).catch(() => null);
        const g = description?.groups[0];
        if (g && g.state === 'Stable' && g.members.length === workers)
          stable = { t: performance.now(), n: await appliedCount(ctx, run, fixture.topic) };
      }
      last = { t, n };
      if (t - lastLog > 2_000) {
        lastLog = t;
        log(`${workers} worker(s): applied ${fmtInt(n)}/${fmtInt(fixture.events)}`);
      }
      if (n >= fixture.events) break;
      await sleep(100);
    }
    const usage = (cpu ?? new CpuWindow({})).stop();
    const complete = last.n >= fixture.events;
    const seconds = first ? (last.t - first.t) / 1000 : NaN;
    const eventsPerSec = first && last.t > first.t ? (last.n - first.n) / seconds : NaN;
    const steadyEventsPerSec =
      stable && last.t - stable.t > 1_000 ? (last.n - stable.n) / ((last.t - stable.t) / 1000) : null;

    // Exactness check: the counted views equal the data set's.
    const store = new RedisCounterStore(ctx.redis, { prefix: run });
    const all = (await store.readTotals(['all'])).get('all')!;
    const exact = all.views === fixture.expectedViews && all.orders === fixture.expectedOrders;

    const perWorker = await Promise.all(procs.map(async (p) => breakdown(await readIngestCounters(p.metricsUrl))));
    await Promise.all(procs.map((p) => p.child.stop('SIGTERM', 25_000)));
    const profileSummary = profile ? summarizeProcessProfile(profileDir, procs[0]!.child.pid) : undefined;
    const result: IngestRun = {
      workers,
      events: last.n,
      eventsPerSec,
      perWorkerEventsPerSec: eventsPerSec / workers,
      steadyEventsPerSec,
      seconds,
      startupS: first ? (first.t - spawnedAt) / 1000 : NaN,
      complete,
      exact,
      perWorker,
      cpu: usage,
      ...(profile ? { profile: profileSummary } : {}),
    };
    log(
      `${workers} worker(s): ${fmtInt(eventsPerSec)} events/s total, ${fmtInt(eventsPerSec / workers)} per worker` +
        (steadyEventsPerSec ? `, ${fmtInt(steadyEventsPerSec)} once the group was stable` : '') +
        `; ${complete ? 'all applied' : 'INCOMPLETE'}, totals ${exact ? 'exact' : 'NOT EXACT'}`,
    );
    return result;
  } finally {
    await Promise.all(procs.map((p) => p.child.stop('SIGKILL', 5_000)));
    await cleanup();
  }
}

/** 2. Real ingest workers (1 and 2 processes) over the pre-produced topic. */
export const ingest: Scenario<IngestResult> = {
  name: 'ingest',
  title: 'LiveTally ingest: real worker processes over the pre-produced topic',
  async run(ctx, log) {
    const runs: IngestRun[] = [];
    for (const workers of ctx.opts.sizes.ingestWorkers) {
      runs.push(await runWorkers(ctx, log, workers, ctx.opts.profile && workers === 1));
      await sleep(1_000);
    }
    const best = runs.filter((r) => Number.isFinite(r.eventsPerSec)).sort((a, b) => b.eventsPerSec - a.eventsPerSec)[0];
    return { runs, maxEventsPerSec: best?.eventsPerSec ?? NaN, maxRateWorkers: best?.workers ?? 1 };
  },
};
