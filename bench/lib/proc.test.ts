import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { niceness, reniceThreads } from './proc';

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
