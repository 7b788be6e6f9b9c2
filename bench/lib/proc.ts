import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './stack';

/** Resident set size of a process in bytes (VmRSS in /proc/<pid>/status), or NaN. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/**
 * User + system CPU seconds a process and the children it has reaped have used so far, or
 * NaN. Children count because their work is the process's: Redis forks to rewrite its
 * append-only file (every few minutes under the month's writes), and without them that
 * CPU was in the machine's figure but in no process's. A child is counted when it ends.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14 to 17 of proc(5), counted from the state (field 3).
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** PIDs of the local stack's services, from .data/pids (absent entries when not ours). */
export function stackPids(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of ['kafka', 'redis', 'clickhouse']) {
    try {
      const pid = Number(readFileSync(join(ROOT, '.data', 'pids', `${name}.pid`), 'utf8').trim());
      if (pid > 0) out[name] = pid;
    } catch {
      /* not started by infra/stack.sh */
    }
  }
  return out;
}

export interface CpuUse {
  /** Percent of one core, per named process. */
  perProcess: Record<string, number>;
  /** Percent of all cores busy (every process on the machine, the bench's own included). */
  machinePercent: number;
  windowS: number;
}

/**
 * CPU use of named processes over a window, in percent of one core: call start() and
 * stop(). Shows which process limits a throughput figure on this machine.
 */
export class CpuWindow {
  private readonly start = new Map<string, number>();
  private readonly t0: number;
  private readonly machine = new MachineCpu();

  constructor(private readonly pids: Record<string, number>) {
    this.t0 = performance.now();
    for (const [name, pid] of Object.entries(pids)) this.start.set(name, cpuSeconds(pid));
  }

  /** CPU seconds each process used since construction (a checkpoint: the window goes on). */
  used(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) out[name] = cpuSeconds(pid) - (this.start.get(name) ?? NaN);
    return out;
  }

  /** Seconds since construction, and the machine's busy percent (all cores) over them. */
  elapsed(): { windowS: number; machinePercent: number } {
    return { windowS: (performance.now() - this.t0) / 1000, machinePercent: this.machine.percent() };
  }

  /** Percent of one core each process used since construction, and the machine's busy percent (all cores). */
  stop(): CpuUse {
    const windowS = (performance.now() - this.t0) / 1000;
    const perProcess: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const used = cpuSeconds(pid) - (this.start.get(name) ?? NaN);
      perProcess[name] = Math.round((1000 * used) / windowS) / 10;
    }
    return { perProcess, machinePercent: this.machine.percent(), windowS: Math.round(windowS * 10) / 10 };
  }
}

/** Whole-machine CPU busy fraction over a window, from /proc/stat. */
export class MachineCpu {
  private readonly first = MachineCpu.read();

  static read(): { busy: number; total: number } {
    try {
      const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
      const v = line.trim().split(/\s+/).slice(1).map(Number);
      const idle = (v[3] ?? 0) + (v[4] ?? 0);
      const total = v.reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    } catch {
      return { busy: NaN, total: NaN };
    }
  }

  /** Percent of all cores busy since construction. */
  percent(): number {
    const now = MachineCpu.read();
    const total = now.total - this.first.total;
    return total > 0 ? Math.round((1000 * (now.busy - this.first.busy)) / total) / 10 : NaN;
  }
}

/**
 * Sets every thread of `pid` whose niceness is `from` to `to`, and returns how many it set.
 * Linux keeps a niceness per thread and a new thread takes its creator's, so every thread is
 * set, not only the main one. Lowering a niceness needs CAP_SYS_NICE: setPriority throws then.
 */
export function reniceThreads(pid: number, from: number, to: number): number {
  let changed = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      if (getPriority(tid) !== from) continue;
    } catch {
      continue; // the thread ended meanwhile
    }
    setPriority(tid, to);
    changed++;
  }
  return changed;
}

/** The niceness of a process's main thread, or undefined when it is gone. */
export function niceness(pid: number): number | undefined {
  try {
    return getPriority(pid);
  } catch {
    return undefined;
  }
}
