import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/markdown';

/**
 * Every command-line entry point a person runs answers --help with its usage and exit
 * code 0, before it reads its environment or touches the stack (the collector load test
 * used to ignore the flag and start loading the collector).
 */
const ENTRY_POINTS = [
  { script: 'services/simulator/src/main.ts', usage: 'usage: npm run simulate' },
  { script: 'bench/run.ts', usage: 'usage: npm run bench' },
  { script: 'bench/collector-load.ts', usage: 'usage: npm run bench:collector' },
  { script: 'infra/env-example/main.ts', usage: 'Usage: npm run env:example' },
  { script: 'infra/event-schema/main.ts', usage: 'Usage: npm run event:schema' },
];

describe('--help', () => {
  it.each(ENTRY_POINTS)('$script prints its usage and exits 0', ({ script, usage }) => {
    // A broken KAFKA_BROKERS proves the help comes before the configuration is read.
    const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--help'], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: 'not a broker list' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.startsWith(usage)).toBe(true);
  });
});
