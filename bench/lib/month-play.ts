import { waitUntilStored } from '../../tests/support/kafka';
import type { MonthProducerApplied, MonthProducerMessage } from '../workers/month-producer';
import type { BenchContext } from './context';
import type { FootprintMonitor } from './footprint';
import { endOffsets } from './kafka';
import { fmtInt, fmtNum } from './log';
import { MONTH_MAX_LAG_EVENTS } from './month-disk';
import { monthEta } from './month-pace';
import { combineSittings, writeMonthState, type MonthRunState, type MonthSitting } from './month-sittings';
import { CpuWindow, cpuSeconds } from './proc';
import { startWorker, type Child, type WorkerChild } from './processes';
import { sleep, STACK } from './stack';

/**
 * The month scenario's playing part (bench/scenarios/month.ts): a producer process plays the
 * month into the run's topic while the workers count it, one sitting at a time
 * (bench/lib/month-sittings.ts).
 */

/**
 * The generator keeps two days of sessions and a batch in flight alive, so with V8's default
 * 16 MiB semi-space much of each batch outlives a scavenge and is copied: scavenges took over
 * half of the producer's samples at scale 1. Measured (scale 1, 120 s windows of the month,
 * docs/benchmarks.md): 16.5–16.7 µs of producer CPU an event by default, 13.2–13.9 with this.
 */
const PRODUCER_NODE_ARGS = ['--max-semi-space-size=128'];
/** A bound on the month's events: 286 million at scale 1, so this leaves room and stops a runaway. */
const MAX_EVENTS_AT_SCALE_1 = 400_000_000;
const PROGRESS_EVERY_MS = 5_000;

export interface PlayInput {
  ctx: BenchContext;
  log: (m: string) => void;
  state: MonthRunState;
  statePath: string;
  procs: Map<string, Child>;
  /** The pipeline's processes whose CPU is measured (the producer reports its own). */
  pids: Record<string, number>;
  footprint: FootprintMonitor;
  window: { from: number; to: number };
  cities: string[];
  /** Events the workers have applied so far (Redis's applied offsets). */
  applied(): Promise<number>;
  plannedEvents: number;
  timeoutS: number;
}

/**
 * One sitting of the month: the producer plays what the topic does not hold yet (all of it
 * on a fresh run), until every event is applied in Redis and stored in ClickHouse. The
 * sitting is checkpointed into the run's state at every progress line, so a hard stop
 * loses at most one interval of its figures.
 */
export async function playMonth(
  input: PlayInput,
): Promise<{ produced: NonNullable<MonthRunState['produced']>; sitting: MonthSitting }> {
  const { ctx, log, state, footprint, procs } = input;
  const { from, to } = input.window;
  const { run, topic, scale, partitions } = state;
  const deadline = performance.now() + input.timeoutS * 1000;
  const skip = state.sittings.length > 0 ? (await endOffsets(ctx.kafka, topic)).join(',') : '';
  const producer = startWorker<MonthProducerMessage>(
    'bench/workers/month-producer.ts',
    {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      BENCH_TOPIC: topic,
      BENCH_PARTITIONS: String(partitions),
      BENCH_PRODUCER_CLIENT: ctx.opts.monthProducer,
      BENCH_SCALE: String(scale),
      BENCH_SEED: String(state.seed),
      BENCH_FROM: String(from),
      BENCH_TO: String(to),
      BENCH_CITIES: input.cities.join(','),
      BENCH_MAX_EVENTS: String(Math.ceil(MAX_EVENTS_AT_SCALE_1 * scale) + 10_000),
      BENCH_TIMEOUT_MS: String(input.timeoutS * 1000),
      BENCH_MAX_LAG: String(MONTH_MAX_LAG_EVENTS),
      ...(skip ? { BENCH_SKIP: skip } : {}),
    },
    PRODUCER_NODE_ARGS,
  );
  procs.set('producer', producer);
  if (skip) {
    log(
      `the topic holds ${fmtInt(skip.split(',').reduce((n, o) => n + Number(o), 0))} events; the producer regenerates the month up to them (tallied, not sent)`,
    );
    await waitForRegeneration(producer, deadline, log);
  }
  // The clock and the CPU window start at the first produce, not at the producer's start-up.
  await producer.next(
    (m): m is Extract<MonthProducerMessage, { type: 'started' }> => m.type === 'started',
    Math.max(60_000, deadline - performance.now()),
    'its start',
  );
  const regenerated = producer.messages.find((m) => m.type === 'regenerated');
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const producerCpuAtStart = cpuSeconds(producer.pid);
  const cpu = new CpuWindow(input.pids);
  const workers = [...procs.entries()].filter(([name]) => name !== 'producer').map(([, child]) => child);
  const sitting = (sent: number, applied: number, lagWaitS: number): MonthSitting => {
    const { windowS, machinePercent } = cpu.elapsed();
    return {
      startedAt,
      activeS: windowS,
      cpuS: cpu.used(),
      machinePercent,
      producerCpuMicros: (cpuSeconds(producer.pid) - producerCpuAtStart) * 1e6,
      producerS: windowS,
      lagWaitS,
      sent,
      applied,
      ...(regenerated?.type === 'regenerated'
        ? {
            regenerated: { events: regenerated.events, seconds: regenerated.seconds, cpuMicros: regenerated.cpuMicros },
          }
        : {}),
    };
  };
  let result: Extract<MonthProducerMessage, { type: 'result' }> | undefined;
  let lastLog = 0;
  let last = {
    t: started,
    sent: regenerated?.type === 'regenerated' ? regenerated.events : 0,
    applied: await input.applied(),
  };
  for (;;) {
    const dead = workers.find((p) => !p.running());
    if (dead) throw new Error(`a pipeline process exited (${await dead.exited}):\n${dead.output().slice(-3000)}`);
    result ??= producer.messages.find((m) => m.type === 'result');
    if (!result && !producer.running())
      throw new Error(`the producer exited (${await producer.exited}):\n${producer.output().slice(-3000)}`);
    const applied = await input.applied();
    // Checked in the same tick as the send: a send on a closed channel would be an unhandled 'error' event.
    if (producer.child.connected) producer.send({ type: 'applied', applied } satisfies MonthProducerApplied);
    const now = performance.now();
    if (now - lastLog >= PROGRESS_EVERY_MS || (result && applied >= result.sent)) {
      const p = producer.messages.findLast((m) => m.type === 'progress');
      // A resumed producer's last report may be from its regeneration, behind what it had skipped.
      const sent = result?.sent ?? Math.max(last.sent, p?.type === 'progress' ? p.sent : 0);
      const reached = result ? to : p?.type === 'progress' ? p.reachedTs : from;
      const dt = (now - last.t) / 1000;
      await footprint.sample();
      log(
        `sent ${fmtInt(sent)} (${fmtNum((100 * (reached - from)) / (to - from))}% of the month, ${fmtInt((sent - last.sent) / dt)} events/s)${result ? ' — producer done' : ''}; applied ${fmtInt(applied)} (${fmtInt((applied - last.applied) / dt)} events/s); ${footprint.describe()}${result ? '' : monthEta(sent, input.plannedEvents, (now - started) / 1000 + combineSittings(state.sittings).activeS)}`,
      );
      writeMonthState(input.statePath, {
        ...state,
        kafkaPeakBytes: footprint.kafkaPeakBytes,
        redisPeakBytes: footprint.redisPeakBytes,
        sittings: [...state.sittings, sitting(sent, applied, p?.type === 'progress' ? p.lagWaitS : 0)],
      });
      last = { t: now, sent, applied };
      lastLog = now;
    }
    if (result && applied >= result.sent) break;
    if (now > deadline) throw new Error(`not all applied within ${input.timeoutS} s (applied ${applied})`);
    await sleep(250);
  }
  if (!result.complete) throw new Error(`the producer ${result.reason}`);
  await waitUntilStored(ctx.redis, run, topic, Math.max(60_000, deadline - performance.now()));
  const final = sitting(result.sent, result.sent, result.lagWaitS);
  return {
    produced: { sent: result.sent, sentFigures: result.sentFigures },
    // The producer's own figures: it exits before the window closes, so /proc no longer has them.
    sitting: { ...final, producerCpuMicros: result.cpuMicros, producerS: result.seconds },
  };
}

/** A resumed producer first regenerates what the topic holds: minutes at scale 1, so it reports progress. */
async function waitForRegeneration(
  producer: WorkerChild<MonthProducerMessage>,
  deadline: number,
  log: (m: string) => void,
): Promise<void> {
  let lastLog = performance.now();
  while (!producer.messages.some((m) => m.type === 'regenerated')) {
    if (!producer.running())
      throw new Error(`the producer exited (${await producer.exited}):\n${producer.output().slice(-3000)}`);
    if (performance.now() > deadline) throw new Error('the producer did not regenerate the month in time');
    if (performance.now() - lastLog >= PROGRESS_EVERY_MS) {
      const p = producer.messages.findLast((m) => m.type === 'progress');
      if (p?.type === 'progress') log(`regenerated ${fmtInt(p.sent)} events already in the topic`);
      lastLog = performance.now();
    }
    await sleep(250);
  }
  const r = producer.messages.find((m) => m.type === 'regenerated');
  if (r?.type === 'regenerated')
    log(
      `regenerated the ${fmtInt(r.events)} events the topic holds in ${fmtNum(r.seconds)} s (${fmtNum(r.cpuMicros / Math.max(1, r.events))} µs an event, left out of the figures)`,
    );
}
