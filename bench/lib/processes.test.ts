import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorker, stopThenDelete, type Child, type WorkerChild } from './processes';
import { sleep } from './stack';

const dir = mkdtempSync(join(tmpdir(), 'bench-processes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A child that writes `data` every 10 ms, as a worker writes keys; `stubborn` ignores SIGTERM. */
function writer(name: string, data: string, stubborn: boolean): WorkerChild<{ type: string }> {
  const script = join(dir, `${name}.mjs`);
  writeFileSync(
    script,
    `import { appendFileSync } from 'node:fs';
     ${stubborn ? "process.on('SIGTERM', () => {});" : ''}
     setInterval(() => appendFileSync(${JSON.stringify(data)}, 'x'), 10);
     process.send({ type: 'started' });`,
  );
  return startWorker<{ type: string }>(script);
}

describe('stopThenDelete', () => {
  it('stops every child (SIGKILL after the grace) before it deletes, so nothing writes the data again', async () => {
    const data = join(dir, 'data');
    const children = new Map<string, Child>();
    const lines: string[] = [];
    const cleanup = stopThenDelete(
      children,
      async () => {
        lines.push(`delete while running: ${[...children.values()].filter((c) => c.running()).length}`);
        rmSync(data, { force: true });
      },
      (m) => lines.push(m),
      500,
    );
    // Children added after the step was made are stopped too (the month adds them as it starts them).
    for (const [name, stubborn] of [
      ['worker1', false],
      ['producer', true],
    ] as const) {
      const child = writer(name, data, stubborn);
      children.set(name, child);
      await child.next((m): m is { type: string } => m.type === 'started', 10_000, 'its start');
    }
    await sleep(50);
    expect(existsSync(data)).toBe(true);

    await cleanup();
    await sleep(200); // a child still running would have written again by now

    expect(existsSync(data)).toBe(false);
    expect([...children.values()].some((c) => c.running())).toBe(false);
    expect(lines[0]).toBe('clean-up: stopping worker1, producer');
    expect(lines[1]).toMatch(/^clean-up: stopped \(worker1 SIGTERM, producer SIGKILL\); deleting the run's data$/);
    expect(lines.slice(2)).toEqual(['delete while running: 0', "clean-up: the run's data deleted"]);
  }, 20_000);
});
