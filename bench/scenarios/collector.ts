import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../lib/context';
import { ROOT } from '../lib/stack';

/**
 * 7. Collector load — HOOK. bench/collector-load.ts (HTTP collector throughput and p99)
 * is written by the collector's engineer. When the file exists it is run as a child
 * process:
 *
 *   node --import tsx bench/collector-load.ts [--quick]
 *   env BENCH_RESULT_FILE=<path>   write the result JSON object there …
 *       … or print it as the last line of stdout
 *
 * and its JSON is included under scenarios.collector. Fields this harness also puts in
 * the table when present: eventsPerSec (or requestsPerSec) and p99Ms.
 * Until the file exists the scenario reports "not available".
 */
export const COLLECTOR_SCRIPT = 'bench/collector-load.ts';

export interface CollectorResult {
  available: boolean;
  note?: string;
  result?: Record<string, unknown>;
}

export const collector: Scenario<CollectorResult> = {
  name: 'collector',
  title: 'Collector load (bench/collector-load.ts)',
  async run(ctx, log) {
    if (!existsSync(join(ROOT, COLLECTOR_SCRIPT))) {
      log(`${COLLECTOR_SCRIPT} does not exist yet: skipped (hook in bench/scenarios/collector.ts)`);
      return { available: false, note: `${COLLECTOR_SCRIPT} not present` };
    }
    const resultFile = join(ROOT, ctx.opts.outDir, `collector-${process.pid}.json`);
    rmSync(resultFile, { force: true });
    const args = ctx.opts.quick ? ['--quick'] : [];
    const child = spawn(process.execPath, ['--import', 'tsx', COLLECTOR_SCRIPT, ...args], {
      cwd: ROOT,
      env: { ...process.env, BENCH_RESULT_FILE: resultFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      for (const line of b.toString().split('\n')) if (line.trim() && !line.trim().startsWith('{')) log(line.trim());
    });
    const timeoutMs = (ctx.opts.quick ? 5 : 15) * 60_000;
    const code = await new Promise<number | string>((res) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (c, s) => {
        clearTimeout(timer);
        res(c ?? s ?? -1);
      });
    });
    let result: Record<string, unknown> | undefined;
    try {
      if (existsSync(resultFile)) result = JSON.parse(readFileSync(resultFile, 'utf8')) as Record<string, unknown>;
      else {
        const last = stdout
          .trim()
          .split('\n')
          .reverse()
          .find((l) => l.trim().startsWith('{'));
        if (last) result = JSON.parse(last) as Record<string, unknown>;
      }
    } catch (err) {
      return { available: true, note: `could not read its JSON: ${(err as Error).message}` };
    } finally {
      rmSync(resultFile, { force: true });
    }
    if (code !== 0) return { available: true, note: `exited with ${code}`, ...(result ? { result } : {}) };
    return { available: true, ...(result ? { result } : { note: 'no JSON result found' }) };
  },
};
