import { createRequire } from 'node:module';
import type { BenchContext, Scenario } from '../lib/context';
import { deleteTopicsAndGroups } from '../lib/kafka';
import { fmtInt } from '../lib/log';
import { CpuWindow, stackPids, type CpuUse } from '../lib/proc';
import { startWorker } from '../lib/processes';
import { STACK, uniqueName } from '../lib/stack';

/** One bare consumer measured: which client, with which settings. */
export interface CeilingClient {
  id: 'kafkajs' | 'confluent' | 'confluent-unbounded';
  /** How the report names it. */
  label: string;
  script: string;
  env: Record<string, string>;
}

export interface CeilingSample {
  round: number;
  eventsPerSec: number;
  seconds: number;
  batches: number;
  events: number;
  reason: string;
  cpu: CpuUse;
}

export interface CeilingClientResult {
  id: CeilingClient['id'];
  label: string;
  /** Median over the rounds. */
  eventsPerSec: number;
  samples: CeilingSample[];
  /** Package and library versions the worker reported (confluent: librdkafka's too). */
  client?: Record<string, unknown>;
}

export interface CeilingResult {
  /** The kafkajs consumer (median round): what the ingest target is a fraction of. */
  events: number;
  eventsPerSec: number;
  seconds: number;
  batches: number;
  reason: string;
  cpu: CpuUse;
  /** Rounds; in each, every client read the whole topic once, in alternating order. */
  rounds: number;
  /** Every client measured, kafkajs first (absent in results of older runs). */
  clients?: CeilingClientResult[];
  /** Clients not measured, and why (e.g. an optional package not installed). */
  skipped?: { id: string; label: string; reason: string }[];
}

type ResultMsg = {
  type: 'result';
  reason: string;
  consumed: number;
  batches: number;
  seconds: number;
  eventsPerSec: number;
  client?: Record<string, unknown>;
};
type Msg = { type: 'progress'; consumed: number } | ResultMsg | { type: 'unavailable'; reason: string };

export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';

export const CEILING_CLIENTS: CeilingClient[] = [
  { id: 'kafkajs', label: 'bare kafkajs consumer', script: 'bench/workers/bare-consumer.ts', env: {} },
  // The library's default eachBatch size (32 messages) …
  {
    id: 'confluent',
    label: `bare ${CONFLUENT_PACKAGE} consumer`,
    script: 'bench/workers/bare-consumer-confluent.ts',
    env: { BENCH_CONFLUENT_MAX_BATCH: '32' },
  },
  // … and every message fetched for the partition in one call, as kafkajs hands them over.
  {
    id: 'confluent-unbounded',
    label: `bare ${CONFLUENT_PACKAGE} consumer, unbounded batches`,
    script: 'bench/workers/bare-consumer-confluent.ts',
    env: { BENCH_CONFLUENT_MAX_BATCH: '-1' },
  },
];

/** Why the optional client cannot run here, or null when its package resolves. */
export function confluentUnavailable(): string | null {
  try {
    createRequire(import.meta.url).resolve(CONFLUENT_PACKAGE);
    return null;
  } catch {
    return `${CONFLUENT_PACKAGE} is not installed (optional; see docs/benchmarks.md)`;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/**
 * 1. Bare consumers (eachBatch, decode JSON only) over the pre-produced topic: kafkajs,
 * and @confluentinc/kafka-javascript when it is installed. Each run is its own process
 * with a fresh consumer group; the clients take turns within a round (the order
 * alternates between rounds), so a load change on the shared machine hits both alike.
 */
export const ceiling: Scenario<CeilingResult> = {
  name: 'ceiling',
  title:
    'Ceiling: bare consumers (eachBatch + JSON.parse) in one process: kafkajs, and @confluentinc/kafka-javascript if installed',
  async run(ctx: BenchContext, log) {
    const fixture = await ctx.fixture();
    const rounds = ctx.opts.sizes.ceilingRounds;
    const skipped: NonNullable<CeilingResult['skipped']> = [];
    const unavailable = confluentUnavailable();
    let clients = CEILING_CLIENTS.filter((c) => {
      if (c.id === 'kafkajs' || !unavailable) return true;
      skipped.push({ id: c.id, label: c.label, reason: unavailable });
      return false;
    });
    if (unavailable) log(`skipping the ${CONFLUENT_PACKAGE} consumers: ${unavailable}`);
    const results = new Map<CeilingClient['id'], CeilingClientResult>(
      clients.map((c) => [c.id, { id: c.id, label: c.label, eventsPerSec: NaN, samples: [] }]),
    );

    const runOnce = async (
      client: CeilingClient,
      round: number,
    ): Promise<ResultMsg | { type: 'unavailable'; reason: string }> => {
      const group = uniqueName(`bench_ceiling_${client.id.replace(/-/g, '_')}`);
      ctx.onCleanup(() => deleteTopicsAndGroups(ctx.kafka, [], [group]));
      const worker = startWorker<Msg>(client.script, {
        KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
        BENCH_TOPIC: fixture.topic,
        BENCH_GROUP: group,
        BENCH_EXPECTED: String(fixture.events),
        BENCH_TIMEOUT_MS: String(ctx.opts.sizes.throughputTimeoutS * 1000),
        ...client.env,
      });
      let cpu: CpuWindow | undefined;
      let seen = 0;
      worker.child.on('message', (m: Msg) => {
        if (m.type !== 'progress') return;
        if (m.consumed > 0 && !cpu) cpu = new CpuWindow({ consumer: worker.pid, ...stackPids() });
        if (m.consumed !== seen)
          log(`round ${round} ${client.id}: consumed ${fmtInt(m.consumed)}/${fmtInt(fixture.events)}`);
        seen = m.consumed;
      });
      try {
        const m = await worker.next(
          (x): x is Exclude<Msg, { type: 'progress' }> => x.type !== 'progress',
          (ctx.opts.sizes.throughputTimeoutS + 60) * 1000,
          'the ceiling result',
        );
        if (m.type === 'unavailable') return m;
        const usage = (cpu ?? new CpuWindow({})).stop();
        log(
          `round ${round} ${client.id}: ${fmtInt(m.eventsPerSec)} events/s (${fmtInt(m.consumed)} events in ${m.seconds.toFixed(1)} s, ${m.batches} batches; consumer ${usage.perProcess.consumer ?? '?'}% of a core, kafka ${usage.perProcess.kafka ?? '?'}%, machine ${usage.machinePercent}% busy)`,
        );
        const r = results.get(client.id)!;
        r.samples.push({
          round,
          eventsPerSec: m.eventsPerSec,
          seconds: m.seconds,
          batches: m.batches,
          events: m.consumed,
          reason: m.reason,
          cpu: usage,
        });
        if (m.client) r.client = m.client;
        return m;
      } finally {
        await worker.stop('SIGTERM', 10_000);
      }
    };

    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? clients : [...clients].reverse();
      for (const client of order) {
        const m = await runOnce(client, round);
        if (m.type === 'unavailable') {
          log(`skipping ${client.label}: ${m.reason}`);
          skipped.push({ id: client.id, label: client.label, reason: m.reason });
          results.delete(client.id);
          clients = clients.filter((c) => c.id !== client.id);
        }
      }
    }

    const measured = CEILING_CLIENTS.flatMap((c) => {
      const r = results.get(c.id);
      if (!r) return [];
      r.eventsPerSec = median(r.samples.map((s) => s.eventsPerSec));
      return [r];
    });
    const kafkajs = measured.find((r) => r.id === 'kafkajs')!;
    for (const r of measured) {
      log(
        `${r.label}: median ${fmtInt(r.eventsPerSec)} events/s (rounds: ${r.samples.map((s) => fmtInt(s.eventsPerSec)).join(', ')})${r.id === 'kafkajs' ? '' : `, ${(r.eventsPerSec / kafkajs.eventsPerSec).toFixed(2)}× kafkajs`}`,
      );
    }
    const mid = [...kafkajs.samples].sort((a, b) => a.eventsPerSec - b.eventsPerSec)[
      Math.floor((kafkajs.samples.length - 1) / 2)
    ]!;
    return {
      events: mid.events,
      eventsPerSec: kafkajs.eventsPerSec,
      seconds: mid.seconds,
      batches: mid.batches,
      reason: mid.reason,
      cpu: mid.cpu,
      rounds,
      clients: measured,
      skipped,
    };
  },
};
