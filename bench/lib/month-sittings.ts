import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Figures } from './month-check';
import type { MonthDiskEstimate } from './month-disk';

/**
 * A month run at scale 1 takes hours on a small machine, longer than the machine may stay
 * up (a CI slot, a working session). Its state lives in the stores (topic, consumer group,
 * Redis prefix, ClickHouse database), which a hard stop keeps, so the run can go on where
 * it stopped: `npm run bench -- --only month --resume`. What the stores do not keep, the
 * run's own bookkeeping (which run, its settings, the wall and CPU time of each sitting),
 * is this file, rewritten at every progress line. A sitting's last seconds before a hard
 * stop are not in it: its figures are a lower bound by at most one progress interval.
 */
export const MONTH_STATE_FILE = 'month-unfinished.json';

export function monthStatePath(outDir: string): string {
  return join(outDir, MONTH_STATE_FILE);
}

/** One uninterrupted stretch of the run: its first produce to its last checkpoint (or the end). */
export interface MonthSitting {
  startedAt: string;
  activeS: number;
  /** CPU seconds per named process (worker1, gateway, kafka, redis, clickhouse…) within the sitting. */
  cpuS: Record<string, number>;
  /** Percent of all cores busy over the sitting. */
  machinePercent: number;
  /** The producer's CPU, its sending time and its waits for the workers, as of its last report. */
  producerCpuMicros: number;
  producerS: number;
  lagWaitS: number;
  /** Events in the topic and applied, at the sitting's last checkpoint. */
  sent: number;
  applied: number;
  /** A resumed sitting first regenerates the events the topic already holds: how many, and what it cost (left out of the figures). */
  regenerated?: { events: number; seconds: number; cpuMicros: number };
}

export interface MonthRunState {
  version: 1;
  run: string;
  topic: string;
  scale: number;
  seed: number;
  workers: number;
  partitions: number;
  dedupBucketsPerHour: number;
  freeDiskAtStartBytes: number;
  estimatedDisk: MonthDiskEstimate;
  /** Redis used_memory before the first event. */
  memoryBeforeBytes: number;
  kafkaPeakBytes: number | null;
  redisPeakBytes: number;
  /**
   * setup: the run's topic, database and campaign are being made (a stop then leaves
   * nothing worth resuming, only data to delete); month: events are still being played; after: every event is applied and stored (the
   * figures of the sittings are final), the checks and the history phase run; recovery:
   * the recovery phase deleted the run's Redis keys, so a resume rebuilds them first.
   */
  phase: 'setup' | 'month' | 'after' | 'recovery';
  /** Once the producer finished: what the topic holds, tallied by type (the checks' reference). */
  produced: { sent: number; sentFigures: Figures } | null;
  sittings: MonthSitting[];
}

/** The unfinished run at `path`, or null when there is none; throws on a file this code did not write. */
export function readMonthState(path: string): MonthRunState | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const state = JSON.parse(text) as Partial<MonthRunState>;
  if (state.version !== 1 || typeof state.run !== 'string' || !Array.isArray(state.sittings))
    throw new Error(`${path} is not a month run's state (version 1): delete it to start afresh`);
  return state as MonthRunState;
}

/** Written whole or not at all: a hard stop mid-write leaves the previous checkpoint. */
export function writeMonthState(path: string, state: MonthRunState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function removeMonthState(path: string): void {
  rmSync(path, { force: true });
}

/** The figures of a sitting that add up over the run, and how many sittings there were. */
export type SittingTotals = Pick<
  MonthSitting,
  'activeS' | 'cpuS' | 'machinePercent' | 'producerCpuMicros' | 'producerS' | 'lagWaitS'
> & { sittings: number };

/** The run's figures over all its sittings: times and CPU add up, the machine's busy share is weighted by time. */
export function combineSittings(sittings: readonly MonthSitting[]): SittingTotals {
  const cpuS: Record<string, number> = {};
  let activeS = 0;
  let busy = 0;
  let producerCpuMicros = 0;
  let producerS = 0;
  let lagWaitS = 0;
  for (const s of sittings) {
    activeS += s.activeS;
    busy += (s.machinePercent / 100) * s.activeS;
    producerCpuMicros += s.producerCpuMicros;
    producerS += s.producerS;
    lagWaitS += s.lagWaitS;
    for (const [name, seconds] of Object.entries(s.cpuS)) cpuS[name] = (cpuS[name] ?? 0) + seconds;
  }
  return {
    sittings: sittings.length,
    activeS,
    cpuS,
    machinePercent: activeS > 0 ? Math.round((1000 * busy) / activeS) / 10 : NaN,
    producerCpuMicros,
    producerS,
    lagWaitS,
  };
}

/**
 * How many events of each partition the producer skips when it regenerates the month on
 * a resume: what the topic holds. The producer sends one request at a time and a
 * partition's part of a request is appended whole or not at all, so each partition holds
 * a prefix of its events in generation order, and its end offset (the topic was created
 * by the run, so it starts at 0) is that prefix's length.
 */
export class PartitionSkips {
  private readonly left: number[];
  private remaining: number;

  constructor(endOffsets: readonly number[]) {
    for (const o of endOffsets)
      if (!Number.isSafeInteger(o) || o < 0) throw new Error(`a partition's end offset must be a count, not ${o}`);
    this.left = [...endOffsets];
    this.remaining = endOffsets.reduce((a, b) => a + b, 0);
  }

  /** Whether the next event of `partition` is already in the topic (and so is skipped). */
  skip(partition: number): boolean {
    if ((this.left[partition] ?? 0) === 0) return false;
    this.left[partition]!--;
    this.remaining--;
    return true;
  }

  /** Events still to skip; 0 once every partition reached its end offset. */
  get pending(): number {
    return this.remaining;
  }
}

/** BENCH_SKIP: the end offsets, comma separated, partition 0 first. */
export function parseSkips(text: string, partitions: number): PartitionSkips {
  const offsets = text.split(',').map(Number);
  if (offsets.length !== partitions)
    throw new Error(`BENCH_SKIP names ${offsets.length} partitions, the topic has ${partitions}`);
  return new PartitionSkips(offsets);
}
