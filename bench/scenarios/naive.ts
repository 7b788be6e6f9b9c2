import { migrate } from '@livetally/history';
import type { Scenario } from '../lib/context';
import { deleteTopicsAndGroups } from '../lib/kafka';
import { fmtInt } from '../lib/log';
import { CpuWindow, stackPids, type CpuUse } from '../lib/proc';
import { startWorker } from '../lib/processes';
import { benchClickhouse, deletePrefix, dropDatabase } from '../lib/stores';
import { clickhouseEnv, STACK, uniqueName } from '../lib/stack';

export interface NaiveResult {
  events: number;
  eventsPerSec: number;
  seconds: number;
  stoppedBy: string;
  cpu: CpuUse;
}

type Msg =
  | { type: 'progress'; processed: number }
  | { type: 'result'; reason: string; processed: number; seconds: number; eventsPerSec: number };

/** 3. eachMessage, one Redis MULTI and one ClickHouse insert per event, auto-commit; bounded. */
export const naive: Scenario<NaiveResult> = {
  name: 'naive',
  title: 'Naive baseline: eachMessage, per event one Redis MULTI + one ClickHouse insert',
  async run(ctx, log) {
    const fixture = await ctx.fixture();
    const { naiveMaxEvents, naiveMaxSeconds } = ctx.opts.sizes;
    const run = uniqueName('bench_naive');
    const ch = benchClickhouse();
    const cleanup = ctx.onCleanup(async () => {
      await dropDatabase(ch, run);
      await ch.close();
      await deletePrefix(ctx.redis, run);
      await deleteTopicsAndGroups(ctx.kafka, [], [run]);
    });
    try {
      await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
      const dbClient = benchClickhouse(run);
      await migrate(dbClient).finally(() => dbClient.close());
      log(`at most ${fmtInt(naiveMaxEvents)} events or ${naiveMaxSeconds} s`);
      const worker = startWorker<Msg>('bench/workers/naive-consumer.ts', {
        KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
        REDIS_URL: STACK.redisUrl,
        ...clickhouseEnv(),
        BENCH_TOPIC: fixture.topic,
        BENCH_GROUP: run,
        BENCH_PREFIX: run,
        BENCH_DATABASE: run,
        BENCH_MAX_EVENTS: String(naiveMaxEvents),
        BENCH_MAX_SECONDS: String(naiveMaxSeconds),
      });
      let cpu: CpuWindow | undefined;
      worker.child.on('message', (m: Msg) => {
        if (m.type !== 'progress' || m.processed === 0) return;
        cpu ??= new CpuWindow({ consumer: worker.pid, ...stackPids() });
        log(`processed ${fmtInt(m.processed)}`);
      });
      try {
        const r = await worker.next(
          (m): m is Extract<Msg, { type: 'result' }> => m.type === 'result',
          (naiveMaxSeconds + 90) * 1000,
          'the naive result',
        );
        const usage = (cpu ?? new CpuWindow({})).stop();
        log(
          `${r.eventsPerSec.toFixed(1)} events/s (${fmtInt(r.processed)} events in ${r.seconds.toFixed(1)} s, stopped by ${r.reason})`,
        );
        return {
          events: r.processed,
          eventsPerSec: r.eventsPerSec,
          seconds: r.seconds,
          stoppedBy: r.reason,
          cpu: usage,
        };
      } finally {
        await worker.stop('SIGTERM', 10_000);
      }
    } finally {
      await cleanup();
    }
  },
};
