import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuSeconds, niceness, reniceThreads } from './proc';

describe('reniceThreads', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('sets every thread of a process at the given niceness, not only its main thread', async () => {
    // A Node process has several threads (libuv's pool, V8's workers) from its start.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid!;
    await new Promise((r) => setTimeout(r, 300));
    const threads = readdirSync(`/proc/${pid}/task`).map(Number);
    expect(threads.length).toBeGreaterThan(1);
    const at = niceness(pid)!;
    expect(reniceThreads(pid, at, at + 3)).toBe(threads.length);
    expect(threads.map((tid) => getPriority(tid))).toEqual(threads.map(() => at + 3));
    // Threads at another niceness are left alone.
    expect(reniceThreads(pid, at, at + 5)).toBe(0);
    expect(niceness(pid)).toBe(at + 3);
  });

  it('says undefined for a process that is gone', () => {
    expect(niceness(2 ** 22 + 12_345)).toBeUndefined();
  });
});

describe('cpuSeconds', () => {
  // The child needs 0.5 s of CPU, which takes longer on a busy machine (3.3 s under a running benchmark).
  it(
    'counts the CPU of children the process has reaped (Redis rewriting its append-only file in a fork)',
    { timeout: 30_000 },
    async () => {
      // A parent that idles, then runs a child that spins until it has used 0.5 s of CPU, and reaps it.
      const parentScript = `
      const { spawnSync } = require('node:child_process');
      setTimeout(() => {
        spawnSync(process.execPath, ['-e', 'while (process.cpuUsage().user < 500000) {}']);
        process.stdout.write('reaped\\n');
        setTimeout(() => {}, 30000);
      }, 200);`;
      const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        await new Promise((r) => setTimeout(r, 100));
        const before = cpuSeconds(parent.pid!);
        await new Promise<void>((r) => parent.stdout!.once('data', () => r()));
        const after = cpuSeconds(parent.pid!);
        expect(after - before).toBeGreaterThanOrEqual(0.45);
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );

  it('says NaN for a process that is gone', () => {
    expect(cpuSeconds(2 ** 22 + 12_345)).toBeNaN();
  });
});
