import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PartitionSkips,
  combineSittings,
  parseSkips,
  readMonthState,
  removeMonthState,
  writeMonthState,
  type MonthRunState,
  type MonthSitting,
} from './month-sittings';

const sitting = (over: Partial<MonthSitting>): MonthSitting => ({
  startedAt: '2026-12-07T10:00:00.000Z',
  activeS: 100,
  cpuS: {},
  machinePercent: 50,
  producerCpuMicros: 0,
  producerS: 100,
  lagWaitS: 0,
  sent: 0,
  applied: 0,
  ...over,
});

describe('combineSittings', () => {
  it('adds times and CPU by process, and weights the busy share by time', () => {
    const totals = combineSittings([
      sitting({
        activeS: 300,
        cpuS: { worker1: 200, redis: 90 },
        machinePercent: 100,
        producerCpuMicros: 5e6,
        lagWaitS: 2,
      }),
      sitting({
        activeS: 100,
        cpuS: { worker1: 60, kafka: 4 },
        machinePercent: 60,
        producerCpuMicros: 1e6,
        lagWaitS: 1,
      }),
    ]);
    expect(totals).toEqual({
      sittings: 2,
      activeS: 400,
      cpuS: { worker1: 260, redis: 90, kafka: 4 },
      machinePercent: 90,
      producerCpuMicros: 6e6,
      producerS: 200,
      lagWaitS: 3,
    });
  });

  it('has no busy share without time', () => {
    expect(combineSittings([]).machinePercent).toBeNaN();
  });
});

describe('PartitionSkips', () => {
  it("skips each partition's first events up to its end offset, and only those", () => {
    const skips = new PartitionSkips([2, 0, 1]);
    const placed = [0, 1, 2, 0, 2, 0, 1].map((p) => skips.skip(p));
    expect(placed).toEqual([true, false, true, true, false, false, false]);
    expect(skips.pending).toBe(0);
  });

  it('refuses offsets that are not counts, and a list for another partition count', () => {
    expect(() => new PartitionSkips([1, -1])).toThrow(/count/);
    expect(() => new PartitionSkips([1.5])).toThrow(/count/);
    expect(() => parseSkips('1,2', 3)).toThrow(/names 2 partitions, the topic has 3/);
    expect(parseSkips('4,0,5', 3).pending).toBe(9);
  });
});

describe('the state file', () => {
  const state: MonthRunState = {
    version: 1,
    run: 'bench_month_x',
    topic: 'lt.bench_month_x',
    scale: 1,
    seed: 2024,
    workers: 2,
    partitions: 12,
    dedupBucketsPerHour: 253,
    freeDiskAtStartBytes: 1e11,
    estimatedDisk: { kafkaBytes: 1, clickhouseBytes: 2, redisAofBytes: 3, marginBytes: 4, totalBytes: 10 },
    memoryBeforeBytes: 1e6,
    kafkaPeakBytes: null,
    redisPeakBytes: 2e6,
    phase: 'month',
    produced: null,
    sittings: [sitting({ sent: 10, applied: 9 })],
  };

  it('reads back what was written, and null when there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'month-state-'));
    const path = join(dir, 'nested', 'month-unfinished.json');
    expect(readMonthState(path)).toBeNull();
    writeMonthState(path, state);
    expect(readMonthState(path)).toEqual(state);
    removeMonthState(path);
    expect(readMonthState(path)).toBeNull();
  });

  it('refuses a file it did not write', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'month-state-')), 'month-unfinished.json');
    writeFileSync(path, JSON.stringify({ version: 2, run: 'x', sittings: [] }));
    expect(() => readMonthState(path)).toThrow(/not a month run's state/);
    expect(readFileSync(path, 'utf8')).toContain('"version":2');
  });
});
