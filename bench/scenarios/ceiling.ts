import type { BenchContext, Scenario } from '../lib/context';
import { deleteTopicsAndGroups } from '../lib/kafka';
import { fmtInt } from '../lib/log';
import { CpuWindow, stackPids } from '../lib/proc';
import { startWorker } from '../lib/processes';
import { STACK, uniqueName } from '../lib/stack';

export interface CeilingResult {
  events: number;
  eventsPerSec: number;
  seconds: number;
  batches: number;
  reason: string;
  cpu: ReturnType<CpuWindow['stop']>;
}

type Msg = { type: 'progress'; consumed: number } | { type: 'result'; reason: string; consumed: number; batches: number; seconds: number; eventsPerSec: number };

/** 1. A bare kafkajs consumer (eachBatch, decode JSON only) over the pre-produced topic. */
export const ceiling: Scenario<CeilingResult> = {
  name: 'ceiling',
  title: 'Ceiling: bare kafkajs consumer (eachBatch + JSON.parse) in one process',
  async run(ctx: BenchContext, log) {
    const fixture = await ctx.fixture();
    const group = uniqueName('bench_ceiling');
    ctx.onCleanup(() => deleteTopicsAndGroups(ctx.kafka, [], [group]));
    const worker = startWorker<Msg>('bench/workers/bare-consumer.ts', {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      BENCH_TOPIC: fixture.topic,
      BENCH_GROUP: group,
      BENCH_EXPECTED: String(fixture.events),
      BENCH_TIMEOUT_MS: String(ctx.opts.sizes.throughputTimeoutS * 1000),
    });
    let cpu: CpuWindow | undefined;
    let seen = 0;
    worker.child.on('message', (m: Msg) => {
      if (m.type !== 'progress') return;
      if (m.consumed > 0 && !cpu) cpu = new CpuWindow({ consumer: worker.pid, ...stackPids() });
      if (m.consumed !== seen) log(`consumed ${fmtInt(m.consumed)}/${fmtInt(fixture.events)}`);
      seen = m.consumed;
    });
    try {
      const result = await worker.next((m): m is Extract<Msg, { type: 'result' }> => m.type === 'result', (ctx.opts.sizes.throughputTimeoutS + 60) * 1000, 'the ceiling result');
      const usage = (cpu ?? new CpuWindow({})).stop();
      log(`${fmtInt(result.eventsPerSec)} events/s (${fmtInt(result.consumed)} events in ${result.seconds.toFixed(1)} s, ${result.batches} batches)`);
      return { events: result.consumed, eventsPerSec: result.eventsPerSec, seconds: result.seconds, batches: result.batches, reason: result.reason, cpu: usage };
    } finally {
      await worker.stop('SIGTERM', 10_000);
    }
  },
};
